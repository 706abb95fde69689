"""Worker tasks that claim jobs and run their handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from ..ports import Clock
from ..storage.group_commit import UnitCommitter
from . import queue
from .queue import Job

log = logging.getLogger("certpost.jobs")

Handler = Callable[[Job], Awaitable[None]]


class RetryLater(Exception):
    """Transient failure: try again after `retry_after_s` (or the backoff)."""

    def __init__(self, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class GiveUp(Exception):
    """Permanent failure: dead-letter the job now, for staff to look at."""


@dataclass
class WorkerPool:
    """One feeder task claims due jobs (as many as there are idle workers, in one transaction) and
    hands them to `concurrency` worker tasks. Idle, it polls every `idle_poll_s`, or sooner when
    woken by a commit that enqueued work."""

    engine: AsyncEngine
    clock: Clock
    handlers: dict[str, Handler]
    concurrency: int = 8
    lease_s: float = 60.0
    idle_poll_s: float = 0.5
    writes: UnitCommitter | None = None
    """Group commit for job outcomes (None: a transaction each)."""

    def __post_init__(self):
        self.name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._idle = asyncio.Semaphore(self.concurrency)
        self._ready: asyncio.Queue[Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        if not self.handlers:
            return
        self._tasks = [asyncio.create_task(self._feed(), name="job-feeder")]
        self._tasks += [
            asyncio.create_task(self._work(), name=f"worker-{i}") for i in range(self.concurrency)
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []

    async def _feed(self) -> None:
        while True:
            await self._idle.acquire()
            free = 1
            while not self._idle.locked():  # take every idle worker's slot: one claim for all of them
                await self._idle.acquire()
                free += 1
            try:
                jobs = await self.claim(free)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly unavailable; keep feeding
                log.exception("claiming jobs failed")
                jobs = []
            for job in jobs:
                self._ready.put_nowait(job)
            for _ in range(free - len(jobs)):
                self._idle.release()
            if not jobs:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_poll_s)

    async def _work(self) -> None:
        while True:
            job = await self._ready.get()
            try:
                await self._run(job, self.name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("recording a job outcome failed; its lease will run out")
            finally:
                self._idle.release()

    async def _write(self, unit):
        if self.writes is not None:
            return await self.writes.run(unit)
        async with self.engine.begin() as conn:
            return await unit(conn)

    async def claim(self, limit: int) -> list[Job]:
        async with self.engine.begin() as conn:
            return await queue.claim(
                conn,
                worker=self.name,
                now=self.clock.now(),
                lease_s=self.lease_s,
                kinds=list(self.handlers),
                limit=limit,
            )

    async def run_one(self) -> bool:
        """Claim and run one job in this task (tests and tools)."""
        jobs = await self.claim(1)
        for job in jobs:
            await self._run(job, self.name)
        return bool(jobs)

    async def _run(self, job: Job, worker: str) -> None:
        retry_after, permanent = None, False
        try:
            await asyncio.wait_for(self.handlers[job.kind](job), self.lease_s * 0.9)
        except asyncio.CancelledError:
            raise  # shutting down: the lease runs out and another worker takes the job
        except RetryLater as e:
            error, retry_after = str(e), e.retry_after_s
        except GiveUp as e:
            error, permanent = str(e), True
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
            log.warning("job %s (%s) failed: %s", job.id, job.kind, type(e).__name__, exc_info=True)
        else:
            await self._write(lambda conn: queue.complete(conn, job, worker=worker, now=self.clock.now()))
            return
        state = await self._write(
            lambda conn: queue.fail(
                conn,
                job,
                error,
                worker=worker,
                now=self.clock.now(),
                retry_after_s=retry_after,
                permanent=permanent,
            )
        )
        if state == queue.DEAD:
            log.warning("job %s (%s) dead-lettered after %d attempts", job.id, job.kind, job.attempts)
