"""What use cases are given by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..ports import CarrierGateway, Clock, Notifier, UnitOfWork, UnitOfWorkFactory, Writes
from ..ports.approval import CallbackSender


@dataclass
class Deps:
    uow: UnitOfWorkFactory
    """A new unit of work (one transaction over the repositories) each call."""
    clock: Clock
    settings: Settings
    carrier: CarrierGateway | None = None
    notifier: Notifier | None = None
    # tracking (issue 5)
    callback_sender: CallbackSender | None = None
    known_codes: frozenset[str] | None = None
    """The carrier's mapped scan codes; others fall back to in_transit and are counted."""
    writes: Writes | None = None
    """Group commit for the small writes of job handlers (None: a transaction each)."""

    async def write(self, unit: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
        """Run a unit of database writes in a committed transaction, possibly shared with others."""
        if self.writes is not None:
            return await self.writes.run(unit)
        async with self.uow() as uow:
            return await unit(uow)

    async def write_together(
        self, write_many: Callable[[UnitOfWork, list[Any]], Awaitable[Any]], item: Any
    ) -> Any:
        """Write `item` with the others given to the same `write_many` meanwhile (`Writes.together`)."""
        if self.writes is not None:
            return await self.writes.together(write_many, item)
        async with self.uow() as uow:
            results = await write_many(uow, [item])
        return results[0] if results is not None else None
