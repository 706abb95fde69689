"""Group commit: many small writes share one transaction and one durable commit.

Callers submit an item and wait. While one commit is being flushed to disk, new items queue up; the
next round hands them all to `batch` in one transaction (a few multi-row statements, not one
round-trip per item). If the batch transaction fails as a whole, each item is retried alone with
`single`, so one bad item cannot fail the others. Every caller is answered only after the commit that
holds its work has returned.

With a `writer` (a synchronous engine, for SQLite) and `sync_batch`, the batch runs on the event
loop's own thread, straight on the DB-API connection (`SqliteWriter`): the commit hands the WAL to
the OS, and one fsync in a thread makes it durable. Meanwhile the next batch is prepared and written;
its own fsync starts when that one returns."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db import write_gate
from .sqlite_writer import Busy, SqliteWriter

# Another connection still holds SQLite's write lock: wait a moment rather than fall back to one
# transaction per item. Most often it is a writer of this process whose COMMIT is syncing to disk: it
# hands the gate on when its commit begins (SQLAlchemy's "commit" event comes before the COMMIT).
BUSY_DELAYS = (0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)

Item = TypeVar("Item")
Batch = Callable[[AsyncConnection, list[Any]], Awaitable[list[Any]]]
Single = Callable[[AsyncConnection, Any], Awaitable[Any]]
SyncBatch = Callable[[Any, list[Any]], list[Any]]  # (DB-API connection, items)


class GroupCommitter(Generic[Item]):
    def __init__(
        self,
        engine: AsyncEngine,
        batch: Batch,
        single: Single,
        *,
        writer: Engine | None = None,
        sync_batch: SyncBatch | None = None,
        prepare: Callable[[Any], Any] | None = None,
        max_batch: int = 500,
    ):
        """`prepare` turns a submitted item into what `batch`, `sync_batch` and `single` take. It runs
        in the committer's task, over a whole batch at once just before it is written: one tight pass
        of the same code is cheaper for the CPU's caches than interleaving it with request handling.
        An exception from it answers that item alone."""
        self.engine, self.batch, self.single, self.max_batch = engine, batch, single, max_batch
        self.writer = SqliteWriter(writer) if writer and sync_batch else None
        self.sync_batch = sync_batch if self.writer else None
        self.prepare = prepare
        self.gate = write_gate(engine) or asyncio.Lock()
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future]] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.writer is not None:
            await self.writer.close()

    async def submit(self, item: Item) -> Any:
        if self._task is None:  # not started (CLI, tests): a transaction of its own
            if self.prepare is not None:
                item = self.prepare(item)
            async with self.engine.begin() as conn:
                return await self.single(conn, item)
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))  # unbounded: never waits
        return await future

    async def _run(self) -> None:
        syncing: asyncio.Task | None = None  # the previous batch, answered once the WAL is fsynced
        try:
            while True:
                pending = [await self._queue.get()]
                while len(pending) < self.max_batch and not self._queue.empty():
                    pending.append(self._queue.get_nowait())
                if self.prepare is not None:
                    pending = self._prepared(pending)
                    if not pending:
                        continue
                items, futures = [item for item, _ in pending], [f for _, f in pending]
                try:
                    results = await self._commit(items, futures)
                except Exception as e:  # never let the committer die: answer everyone
                    _answer(futures, [e] * len(futures))
                    continue
                if results is None:
                    continue
                if self.writer is None:
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

    def _prepared(self, pending: list[tuple[Any, asyncio.Future]]) -> list[tuple[Any, asyncio.Future]]:
        ready = []
        for item, future in pending:
            try:
                ready.append((self.prepare(item), future))
            except Exception as e:
                if not future.done():
                    future.set_exception(e)
        return ready

    async def _commit(self, items: list[Item], futures: list[asyncio.Future]) -> list[Any] | None:
        """The batch's results once committed (to the OS only, with a writer), or None when it failed
        as a whole and each item was then recorded and answered alone."""
        try:
            if self.writer is not None:
                return await self._write_inline(items)
            async with self.engine.begin() as conn:
                return await self.batch(conn, items)
        except Exception:
            await self._one_by_one(items, futures)
            return None

    async def _answer_when_durable(self, futures: list[asyncio.Future], results: list[Any]) -> None:
        try:
            await self.writer.durable()
        except Exception as e:
            results = [e] * len(futures)
        _answer(futures, results)

    async def _write_inline(self, items: list[Item]) -> list[Any]:
        # The gate is kept while waiting: let go, the next writer of this process would take the lock
        # as soon as it is free, and under steady load (booking) the batch would never get its turn.
        async with self.gate:  # takes its turn like any other writer of this process
            for delay in BUSY_DELAYS:
                with contextlib.suppress(Busy):
                    return self.writer.write(self.sync_batch, items)
                await asyncio.sleep(delay)
        raise Busy()

    async def _one_by_one(self, items: list[Item], futures: list[asyncio.Future]) -> None:
        for item, future in zip(items, futures, strict=True):
            try:
                async with self.engine.begin() as conn:
                    result = await self.single(conn, item)
            except Exception as e:
                if not future.done():
                    future.set_exception(e)
            else:
                if not future.done():
                    future.set_result(result)


def _answer(futures: list[asyncio.Future], results: list[Any]) -> None:
    for future, result in zip(futures, results, strict=True):
        if future.done():  # its caller went away
            continue
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)


Unit = Callable[[AsyncConnection], Awaitable[Any]]


class UnitCommitter:
    """Group commit for small units of work (an async function of a connection), e.g. the status
    moves of job handlers: the units queued while a commit is in flight run back to back in the next
    transaction. When that transaction fails, each unit is run again in a transaction of its own, so
    only the unit at fault fails. Units must therefore only write to the database."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 200):
        self._committer: GroupCommitter[Unit] = GroupCommitter(
            engine, self._run_all, self._run_one, max_batch=max_batch
        )

    async def start(self) -> None:
        await self._committer.start()

    async def stop(self) -> None:
        await self._committer.stop()

    async def run(self, unit: Unit) -> Any:
        return await self._committer.submit(unit)

    @staticmethod
    async def _run_all(conn: AsyncConnection, units: list[Unit]) -> list[Any]:
        return [await unit(conn) for unit in units]

    @staticmethod
    async def _run_one(conn: AsyncConnection, unit: Unit) -> Any:
        return await unit(conn)


async def write_unit(engine: AsyncEngine, writes: UnitCommitter | None, unit: Unit) -> Any:
    """Run a unit of writes in a committed transaction: shared with others through `writes` when there
    is one, else a transaction of its own."""
    if writes is not None:
        return await writes.run(unit)
    async with engine.begin() as conn:
        return await unit(conn)
