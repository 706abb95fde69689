"""Group commit: many small write transactions share one durable commit.

Callers hand in a unit of work (an async function of a connection). While one commit is being
flushed to disk, new units queue up; the next round runs them all in one transaction, each inside
its own SAVEPOINT so one unit's failure does not undo the others. Every caller is answered only
after the commit that holds its work has returned."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Unit = Callable[[AsyncConnection], Awaitable[Any]]


class GroupCommitter:
    def __init__(self, engine: AsyncEngine, *, max_batch: int = 256):
        self.engine = engine
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Unit, asyncio.Future]] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self, unit: Unit) -> Any:
        if self._task is None:  # not started (CLI, tests): a transaction of its own
            async with self.engine.begin() as conn:
                return await unit(conn)
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((unit, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[Unit, asyncio.Future]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            async with self.engine.begin() as conn:
                for unit, _ in batch:
                    outcomes.append(await self._attempt(conn, unit))
        except Exception as e:  # the commit itself failed: nothing of the batch is on disk
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    @staticmethod
    async def _attempt(conn: AsyncConnection, unit: Unit) -> tuple[bool, Any]:
        try:
            async with conn.begin_nested():
                return True, await unit(conn)
        except Exception as e:
            return False, e
