"""What use cases are given by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..config import Settings
from ..ports import CarrierGateway, Clock, Notifier
from ..storage.group_commit import UnitCommitter, write_unit

if TYPE_CHECKING:
    from .callbacks import CallbackSender


@dataclass
class Deps:
    engine: AsyncEngine
    clock: Clock
    settings: Settings
    carrier: CarrierGateway | None = None
    notifier: Notifier | None = None
    # tracking (issue 5)
    callback_sender: CallbackSender | None = None
    known_codes: frozenset[str] | None = None
    """The carrier's mapped scan codes; others fall back to in_transit and are counted."""
    writes: UnitCommitter | None = None
    """Group commit for the small writes of job handlers (None: a transaction each)."""

    async def write(self, unit: Callable[[AsyncConnection], Awaitable[Any]]) -> Any:
        """Run a unit of database writes in a committed transaction, possibly shared with others."""
        return await write_unit(self.engine, self.writes, unit)
