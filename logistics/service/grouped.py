"""Writes that go in groups: the items submitted while one group is being written go together in the
next, so a busy database takes one transaction for many of them. When a group fails, each of its items
is written alone, so only the item at fault fails (its caller gets the exception)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger("certpost.grouped")

T = TypeVar("T")


class GroupedWrites(Generic[T]):
    def __init__(self, write: Callable[[list[T]], Awaitable[None]], name: str):
        self._write, self.name = write, name
        self._waiting: list[tuple[T, asyncio.Future]] = []
        self._task: asyncio.Task | None = None

    async def submit(self, item: T) -> None:
        """Returns once `item` is written; raises what writing it raised."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=self.name)
        await done

    async def _drain(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                await self._write([item for item, _ in group])
            except Exception as e:
                if len(group) == 1:
                    _settle(group[0][1], e)
                    continue
                log.warning("%s: %d writes together failed; one by one", self.name, len(group), exc_info=True)
                for item, done in group:
                    try:
                        await self._write([item])
                    except Exception as each:
                        _settle(done, each)
                    else:
                        _settle(done, None)
            else:
                for _, done in group:
                    _settle(done, None)


def _settle(done: asyncio.Future, error: BaseException | None) -> None:
    if done.done():  # its caller gave up waiting (cancelled)
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
