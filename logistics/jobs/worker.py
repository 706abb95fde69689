"""Worker tasks that claim jobs and run their handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from ..ports import Clock, Writes
from ..service.job_contract import COMPLETED, GiveUp, Job, RetryLater, backoff_s
from ..storage import instance_repo
from ..storage.outage import database_unavailable
from ..storage.unit_of_work import SqlUnitOfWork
from . import queue

log = logging.getLogger("certpost.jobs")

Handler = Callable[[Job], Awaitable[None]]
Settle = Callable[[Job, "BaseException | object | None"], Awaitable[None]]
BatchHandler = Callable[[list[Job], str, Settle], Awaitable[None]]
"""Runs claimed jobs of one kind together: (jobs, worker name, settle). The handler calls
`settle(job, outcome)` once per job as it finishes: None (done: the pool completes it), COMPLETED (the
handler completed it itself, in the transaction that recorded its result, via `queue.complete_many`
with the given worker name) or the exception (RetryLater, GiveUp, other) the job failed with."""


def reason_code(e: BaseException) -> str:
    """A short code for logs: the exception's own code, its cause's, or the exception type's name."""
    for error in (e, e.__cause__):
        if error is not None and getattr(error, "code", ""):
            return str(error.code)
    return type(e).__name__


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
    writes: Writes | None = None
    """Group commit for job outcomes (None: a transaction each)."""
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)
    """Kinds run in batches (a feeder of their own); `handlers` still serve `run_one`."""
    batch_size: int = 50
    batch_in_flight: int = 100
    """Jobs of batch kinds running at once (their leases run while they wait for the carrier)."""
    batch_linger_s: float = 0.02
    """How long the batch feeder waits for more free room before claiming a small batch."""
    batch_room: Callable[[], int] | None = None
    """How many batch jobs may run at once now (at most `batch_in_flight`): with a carrier rate shared
    among instances, what this instance's share serves well within a lease."""
    name: str = ""
    """Whose lease the claimed jobs carry: the instance's id (jobs/instances.py), so that when the
    instance is known dead its jobs are handed back."""
    stop_grace_s: float = 5.0
    """On stop, how long the jobs already running may take to finish before they are released."""
    before_stop: Callable[[], None] | None = None
    """Called first on stop (the carrier's pacer drains: the calls waiting for their turn go back)."""

    def __post_init__(self):
        self.name = self.name or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._running = 0  # single jobs being run now
        self._in_flight = 0  # batch jobs claimed and not settled
        self._wake = asyncio.Event()
        self._batch_wake = asyncio.Event()
        self._idle = asyncio.Semaphore(self.concurrency)
        self._ready: asyncio.Queue[Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._feeders: list[asyncio.Task] = []
        self._batches: set[asyncio.Task] = set()
        self._room = asyncio.Semaphore(max(1, self.batch_in_flight))
        self._single_kinds = [k for k in self.handlers if k not in self.batch_handlers]
        self._held: set[int] = set()
        """Jobs claimed by this pool whose outcome is not written yet (it may be kept while the database
        is away, past the lease): a new claim of one of them is not run again here."""

    def wake(self) -> None:
        self._wake.set()
        self._batch_wake.set()

    async def start(self) -> None:
        if not self.handlers:
            return
        self._feeders = [asyncio.create_task(self._feed(), name="job-feeder")]
        self._feeders += [
            asyncio.create_task(self._feed_batches(kind), name=f"batch-feeder-{kind}")
            for kind in self.batch_handlers
        ]
        self._tasks = [asyncio.create_task(self._work(), name=f"worker-{i}") for i in range(self.concurrency)]

    async def stop(self) -> None:
        """Claim no more; hand the claimed jobs not started back at once; let the running ones finish for
        up to `stop_grace_s`, then cancel them and hand them back too (their attempts given back: a
        booking that may have reached the carrier is looked up first, its dispatch being in `booking`)."""
        await _cancel(self._feeders)
        self._feeders = []
        if self.before_stop is not None:
            self.before_stop()
        unstarted = 0
        while not self._ready.empty():
            self._ready.get_nowait()
            unstarted += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stop_grace_s
        # single jobs have no task of their own to wait on: look every 50 ms
        while (self._running or self._batches) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await _cancel(self._tasks + list(self._batches))
        self._tasks, self._batches = [], set()
        try:
            async with self.engine.begin() as conn:
                released = await instance_repo.release_jobs(
                    conn, [self.name], now=self.clock.now(), give_back_attempt=True
                )
        except Exception as e:
            log.warning("stopping: could not hand back the claimed jobs (%s); their leases will run out", e)
            return
        if released:
            log.info("stopping: %d claimed job(s) handed back (%d not started)", released, unstarted)

    async def _feed(self) -> None:
        while True:
            await self._idle.acquire()
            free = 1
            while not self._idle.locked():  # take every idle worker's slot: one claim for all of them
                await self._idle.acquire()
                free += 1
            try:
                jobs = await self.claim(free, self._single_kinds) if self._single_kinds else []
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the database may be briefly unavailable; keep feeding
                _claim_failed(e, "jobs")
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
            self._running += 1
            try:
                await self._run(job, self.name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("recording a job outcome failed; its lease will run out")
            finally:
                self._running -= 1
                self._idle.release()

    async def _write(self, unit):
        """A unit (of an open unit of work) in a committed transaction, shared with others through
        `writes` when there is one."""
        if self.writes is not None:
            return await self.writes.run(unit)
        async with SqlUnitOfWork(self.engine) as uow:
            return await unit(uow)

    async def claim(self, limit: int, kinds: list[str] | None = None) -> list[Job]:
        async with self.engine.begin() as conn:
            claimed = await queue.claim(
                conn,
                worker=self.name,
                now=self.clock.now(),
                lease_s=self.lease_s,
                kinds=list(self.handlers) if kinds is None else kinds,
                limit=limit,
            )
        fresh = [job for job in claimed if job.id not in self._held]  # the others' outcome is on its way
        self._held.update(job.id for job in fresh)
        return fresh

    async def run_batch_once(self, kind: str) -> int:
        """Claim up to `batch_size` jobs of `kind` and run them as one batch in this task (tests, tools)."""
        jobs = await self.claim(self.batch_size, [kind])
        for _ in jobs:
            await self._room.acquire()
        if jobs:
            self._in_flight += len(jobs)
            await self._run_batch(kind, jobs)
        return len(jobs)

    async def _feed_batches(self, kind: str) -> None:
        """Claims up to `batch_size` jobs of `kind` at a time while fewer than `batch_in_flight` run, and
        hands each claim to the batch handler; room is given back job by job as they settle."""
        while True:
            await self._room.acquire()
            free = 1
            deadline = asyncio.get_running_loop().time() + self.batch_linger_s
            while free < self.batch_size:
                if self._room.locked():
                    left = deadline - asyncio.get_running_loop().time()
                    if left <= 0 or not self._batches:
                        break
                    try:
                        await asyncio.wait_for(self._room.acquire(), left)
                    except TimeoutError:
                        break
                else:
                    await self._room.acquire()
                free += 1
            if self.batch_room is not None:
                allowed = min(free, self.batch_room() - self._in_flight)
                for _ in range(free - max(allowed, 0)):
                    self._room.release()
                if allowed < 1:
                    await asyncio.sleep(self.idle_poll_s)
                    continue
                free = allowed
            try:
                jobs = await self.claim(free, [kind])
            except asyncio.CancelledError:
                for _ in range(free):
                    self._room.release()
                raise
            except Exception as e:
                _claim_failed(e, f"{kind} jobs")
                jobs = []
            for _ in range(free - len(jobs)):
                self._room.release()
            if jobs:
                self._in_flight += len(jobs)
                task = asyncio.create_task(self._run_batch(kind, jobs), name=f"batch-{kind}")
                self._batches.add(task)
                task.add_done_callback(self._batches.discard)
            else:
                self._batch_wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._batch_wake.wait(), self.idle_poll_s)

    async def _run_batch(self, kind: str, jobs: list[Job]) -> None:
        unsettled = {job.id: job for job in jobs}

        async def settle(job: Job, outcome) -> None:
            if unsettled.pop(job.id, None) is None:
                return  # settled already
            try:
                if outcome is not COMPLETED:
                    await self._record(job, self.name, outcome)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("recording a job outcome failed; its lease will run out")
            finally:
                self._held.discard(job.id)
                self._in_flight -= 1
                self._room.release()

        try:
            await asyncio.wait_for(self.batch_handlers[kind](jobs, self.name, settle), self.lease_s * 0.9)
        except asyncio.CancelledError:
            for _ in unsettled:  # shutting down: `stop` hands the jobs back
                self._room.release()
            self._held.difference_update(unsettled)
            self._in_flight -= len(unsettled)
            unsettled.clear()
            raise
        except Exception as e:
            log.warning("batch of %d %s jobs failed: %s", len(jobs), kind, type(e).__name__, exc_info=True)
            for job in list(unsettled.values()):
                await settle(job, e)
        for job in list(unsettled.values()):  # the handler forgot them: try again later
            await settle(job, RuntimeError("the batch handler did not settle this job"))

    async def run_one(self) -> bool:
        """Claim and run one job in this task (tests and tools)."""
        jobs = await self.claim(1)
        for job in jobs:
            await self._run(job, self.name)
        return bool(jobs)

    async def _run(self, job: Job, worker: str) -> None:
        try:
            await asyncio.wait_for(self.handlers[job.kind](job), self.lease_s * 0.9)
        except asyncio.CancelledError:
            raise  # shutting down: the lease runs out and another worker takes the job
        except Exception as e:
            await self._record(job, worker, e)
        else:
            await self._record(job, worker, None)
        finally:
            self._held.discard(job.id)

    async def _record(self, job: Job, worker: str, outcome: BaseException | None) -> None:
        """Complete the job (outcome None) or schedule its retry / dead-letter it."""
        retry_after, permanent, keep = None, False, False
        if outcome is None:
            await self._write(lambda uow: uow.jobs.complete(job, worker=worker, now=self.clock.now()))
            return
        e = outcome
        if isinstance(e, RetryLater):
            error, retry_after, keep = str(e), e.retry_after_s, e.keep_attempt
        elif isinstance(e, GiveUp):
            error, permanent = str(e), True
        elif database_unavailable(e):  # not the job's fault: tried again without spending an attempt
            error, retry_after, keep = f"database unavailable: {type(e).__name__}", 1.0, True
        else:
            error = f"{type(e).__name__}: {e}"
            log.warning("job %s (%s) failed: %s", job.id, job.kind, type(e).__name__, exc_info=e)
        if retry_after is None and not permanent:
            retry_after = backoff_s(job.attempts)
        state = await self._write(
            lambda uow: uow.jobs.fail(
                job,
                error,
                worker=worker,
                now=self.clock.now(),
                retry_after_s=retry_after,
                permanent=permanent,
                keep_attempt=keep,
            )
        )
        subject = f"job {job.id} ({job.kind}{_subject(job)})"
        if state == queue.DEAD:
            log.warning("%s dead-lettered after %d attempts: %s", subject, job.attempts, reason_code(e))
        else:
            log.info(
                "%s retry in %.1f s: %s (attempt %d of %d%s)", subject, retry_after, reason_code(e),
                job.attempts, job.max_attempts, ", not counted" if keep else "",
            )  # fmt: skip


def _claim_failed(e: Exception, what: str) -> None:
    if database_unavailable(e):  # an outage: one line per attempt, no stack
        log.warning("claiming %s failed: database unavailable (%s)", what, type(e).__name__)
    else:
        log.error("claiming %s failed", what, exc_info=e)


async def _cancel(tasks: list[asyncio.Task]) -> None:
    for t in tasks:
        t.cancel()
    for t in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await t


def _subject(job: Job) -> str:
    """The ids a job is about (never its other payload: it may hold personal data)."""
    return "".join(f", {key} {job.payload[key]}" for key in _ID_KEYS if key in job.payload)


_ID_KEYS = ("dispatch_id", "notice_id")
