"""Group commit: many small writes share one transaction and one durable commit.

Callers submit an item and wait. While one commit is being flushed to disk, new items queue up; the
next round hands them all to `batch` on one unit of work (a few multi-row statements, not one
round-trip per item). `batch` returns each item's result; an Exception among them is answered to that
caller alone. If the round's transaction fails as a whole, each item is written again in a transaction
of its own, so one bad item cannot fail the others. Every caller is answered only after the commit
that holds its work has returned.

The gateway runs two: intake's (`batch` is `service.intake.record_intake_batch`) and the one behind
`Deps.write` and `Deps.write_together` (`write_grouped`, through `unit_of_work.SqlWrites`): job outcomes,
bookings recorded as they come back from the carrier, poll results.

With a `fast` writer (SQLite, `storage.sqlite.FastIntake`) the batch runs instead on the event loop's
own thread, straight on a DB-API connection, and is answered once the WAL is fsynced; meanwhile the
next batch is written.

With `keep_while_away` (the job handlers' committer) writes are kept while the database is away
(`storage.outage`): the round is tried again, with a growing pause, until it commits, and its callers
wait; later items queue behind it, so they are written in the order they came. Once more than
`keep_while_away` items wait, new ones are refused at once (DatabaseUnavailable). Intake keeps nothing:
its clients get a 503 and send the case again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ..ports import UnitOfWork, UnitOfWorkFactory
from .outage import DatabaseUnavailable, database_unavailable

log = logging.getLogger("certpost.storage")

Batch = Callable[[UnitOfWork, list[Any]], Awaitable[list[Any]]]


class FastBatch(Protocol):
    """A batch written outside SQLAlchemy (`storage.sqlite.FastIntake`)."""

    async def write(self, items: list[Any]) -> list[Any]:
        """Commit the batch (to the OS): each item's result."""
        ...

    async def durable(self) -> None:
        """Everything committed so far is on disk once this returns."""
        ...

    async def close(self) -> None: ...


class GroupCommitter:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        batch: Batch,
        *,
        fast: FastBatch | None = None,
        max_batch: int = 500,
        keep_while_away: int = 0,
        retry_max_s: float = 2.0,
    ):
        self.uow, self.batch, self.fast, self.max_batch = uow, batch, fast, max_batch
        self.keep_while_away, self.retry_max_s = keep_while_away, retry_max_s
        self._queue: asyncio.Queue[tuple[Any, asyncio.Future]] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._kept = 0
        """Items of the round being tried again while the database is away (0: it is not away)."""

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        if self._kept:
            log.warning(
                "stopping with %d writes kept for the database: their jobs run again once their leases end",
                self._kept + self._queue.qsize(),
            )
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.fast is not None:
            await self.fast.close()

    async def submit(self, item: Any) -> Any:
        """The item's result once it is committed; raises what writing it raised."""
        if self._task is None:  # not started (CLI, tests): a transaction of its own
            return await self._alone(item)
        if self._kept and self._kept + self._queue.qsize() >= self.keep_while_away:
            raise DatabaseUnavailable(
                f"{self._kept + self._queue.qsize()} writes already wait for the database"
            )
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))  # unbounded while the database is there: never waits
        return await future

    async def _alone(self, item: Any) -> Any:
        async with self.uow() as uow:
            (result,) = await self.batch(uow, [item])
        if isinstance(result, Exception):
            raise result
        return result

    async def _run(self) -> None:
        syncing: asyncio.Task | None = None  # the previous fast batch, answered once the WAL is fsynced
        try:
            while True:
                pending = [await self._queue.get()]
                while len(pending) < self.max_batch and not self._queue.empty():
                    pending.append(self._queue.get_nowait())
                items, futures = [item for item, _ in pending], [f for _, f in pending]
                try:
                    results = await self._commit_kept(items, futures)
                except Exception as e:  # never let the committer die: answer everyone
                    _answer(futures, [e] * len(futures))
                    continue
                if results is None:
                    continue
                if self.fast is None:
                    _answer(futures, results)
                    continue
                # This batch was written while the previous one's fsync ran; its own fsync must start
                # after its COMMIT, so it waits for that one: one fsync at a time, each covering a batch.
                if syncing is not None:
                    await syncing
                syncing = asyncio.create_task(self._answer_when_durable(futures, results))
        finally:
            if syncing is not None:  # stopping: the last batch is committed, answer it
                await asyncio.wait([syncing])

    async def _commit_kept(self, items: list[Any], futures: list[asyncio.Future]) -> list[Any] | None:
        """`_commit`, tried again while the database is away (with `keep_while_away`)."""
        pause, since = 0.05, None
        try:
            while True:
                try:
                    results = await self._commit(items, futures)
                except _Away:
                    if since is None:
                        since = asyncio.get_running_loop().time()
                        log.warning("database unavailable: keeping %d writes until it is back", len(items))
                    self._kept = len(items)
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, self.retry_max_s)
                    continue
                if since is not None:
                    log.info(
                        "database back after %.1f s: %d kept writes written, %d more queued",
                        asyncio.get_running_loop().time() - since, len(items), self._queue.qsize(),
                    )  # fmt: skip
                return results
        finally:
            self._kept = 0

    async def _commit(self, items: list[Any], futures: list[asyncio.Future]) -> list[Any] | None:
        """The batch's results once committed (to the OS only, with a fast writer), or None when it
        failed as a whole and each item was then written and answered alone."""
        try:
            if self.fast is not None:
                return await self.fast.write(items)
            async with self.uow() as uow:
                return await self.batch(uow, items)
        except Exception as e:
            if database_unavailable(e):  # not the items' fault: one by one would fail each alike
                if self.keep_while_away:
                    raise _Away from e  # the whole round is tried again
                raise  # every caller is answered with it (intake: a 503, and the client sends again)
            if self.fast is None and len(items) == 1:
                raise  # it was alone already
            await self._one_by_one(items, futures)
            return None

    async def _answer_when_durable(self, futures: list[asyncio.Future], results: list[Any]) -> None:
        try:
            await self.fast.durable()
        except Exception as e:
            results = [e] * len(futures)
        _answer(futures, results)

    async def _one_by_one(self, items: list[Any], futures: list[asyncio.Future]) -> None:
        for item, future in zip(items, futures, strict=True):
            pause = 0.05
            while True:
                try:
                    result = await self._alone(item)
                except Exception as e:
                    if self.keep_while_away and database_unavailable(e):  # went away meanwhile: keep it
                        await asyncio.sleep(pause)
                        pause = min(pause * 2, self.retry_max_s)
                        continue
                    result = e
                break
            _answer([future], [result])


class _Away(Exception):
    """The round failed because the database is away (it is kept and tried again)."""


def _answer(futures: list[asyncio.Future], results: list[Any]) -> None:
    for future, result in zip(futures, results, strict=True):
        if future.done():  # its caller went away
            continue
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)


WriteMany = Callable[[UnitOfWork, list[Any]], Awaitable[list[Any] | None]]


async def _units(uow: UnitOfWork, units: list[Callable[[UnitOfWork], Awaitable[Any]]]) -> list[Any]:
    return [await unit(uow) for unit in units]


async def write_grouped(uow: UnitOfWork, entries: list[tuple[WriteMany, Any]]) -> list[Any]:
    """The batch of `SqlWrites`: the items of one `write_many` function go to it together (in their
    order, at the place of the first), e.g. the bookings recorded while a commit was in flight."""
    places: dict[WriteMany, list[int]] = {}
    for i, (write_many, _) in enumerate(entries):
        places.setdefault(write_many, []).append(i)
    results: list[Any] = [None] * len(entries)
    for write_many, positions in places.items():
        out = await write_many(uow, [entries[i][1] for i in positions])
        for i, result in zip(positions, out if out is not None else [None] * len(positions), strict=True):
            results[i] = result
    return results


def unit_entry(unit: Callable[[UnitOfWork], Awaitable[Any]]) -> tuple[WriteMany, Any]:
    return _units, unit
