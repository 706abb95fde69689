"""What use cases are given by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
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

    @property
    def hall(self) -> str | None:
        """The hall these deps are scoped to (None: every hall)."""
        return self.uow.hall

    def for_hall(self, hall: str | None) -> Deps:
        """The same deps whose units of work are scoped to `hall` (None: every hall). Writes go through
        a transaction of their own (the shared group commit is unscoped)."""
        if hall == self.uow.hall:
            return self
        return replace(self, uow=self.uow.for_hall(hall), writes=None if hall is not None else self.writes)

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
