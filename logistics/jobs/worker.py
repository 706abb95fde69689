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
    engine: AsyncEngine
    clock: Clock
    handlers: dict[str, Handler]
    concurrency: int = 8
    lease_s: float = 60.0
    idle_poll_s: float = 0.5

    def __post_init__(self):
        self.name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def wake(self) -> None:
        """Called after a commit that enqueued work, so it starts without waiting for the next poll."""
        self._wake.set()

    async def start(self) -> None:
        if not self.handlers:
            return
        self._tasks = [
            asyncio.create_task(self._loop(f"{self.name}-{i}"), name=f"worker-{i}")
            for i in range(self.concurrency)
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []

    async def _loop(self, worker: str) -> None:
        while True:
            try:
                ran = await self.run_one(worker)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly unavailable; keep the worker alive
                log.exception("worker loop error")
                ran = False
            if not ran:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.idle_poll_s)

    async def run_one(self, worker: str) -> bool:
        async with self.engine.begin() as conn:
            claimed = await queue.claim(
                conn, worker=worker, now=self.clock.now(), lease_s=self.lease_s, kinds=list(self.handlers)
            )
        if not claimed:
            return False
        job = claimed[0]
        self._wake.set()  # there may be more: let an idle sibling look
        await self._run(job, worker)
        return True

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
            log.warning("job %s (%s) failed: %s", job.id, job.kind, type(e).__name__)
        else:
            async with self.engine.begin() as conn:
                await queue.complete(conn, job, worker=worker, now=self.clock.now())
            return
        async with self.engine.begin() as conn:
            state = await queue.fail(
                conn,
                job,
                error,
                worker=worker,
                now=self.clock.now(),
                retry_after_s=retry_after,
                permanent=permanent,
            )
        if state == queue.DEAD:
            log.warning("job %s (%s) dead-lettered after %d attempts", job.id, job.kind, job.attempts)
