"""The unit of work: one transaction over the repositories a use case needs.

    async with deps.uow() as uow:
        d = await uow.dispatches.get(dispatch_id)
        ...

Leaving the block normally commits; an exception rolls everything back. Helpers that run inside a use
case's transaction take the open `uow` and never enter it again. `deps.uow(read_only=True)` is for
reads: it takes no write lock (SQLite) and commits nothing.

A unit of work may be scoped to one hall (`deps.for_hall(code)`): then no repository returns or changes
another hall's rows, so a use case given it cannot reach them (another hall's id is not found)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, Self, TypeVar

from .repositories.cases import CaseEvents
from .repositories.console import ConsoleRecords
from .repositories.dispatches import Dispatches
from .repositories.finance import FinanceRecords
from .repositories.halls import Halls
from .repositories.jobs import Jobs
from .repositories.pool import WaybillPool
from .repositories.pull import PullCursors
from .repositories.statistics import Statistics
from .repositories.throttle import CitizenFailures
from .repositories.tracking import TrackingRecords
from .repositories.users import Users
from .repositories.village import VillagePoints

T = TypeVar("T")


class UnitOfWork(Protocol):
    hall: str | None
    """The scope: a hall's code (its repositories see and change only that hall's rows), or None."""
    halls: Halls
    dispatches: Dispatches
    cases: CaseEvents
    jobs: Jobs
    tracking: TrackingRecords
    pool: WaybillPool
    users: Users
    console: ConsoleRecords
    finance: FinanceRecords
    pull: PullCursors
    throttle: CitizenFailures
    statistics: Statistics
    village_points: VillagePoints

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: Any) -> None: ...


class UnitOfWorkFactory(Protocol):
    hall: str | None

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...

    def for_hall(self, hall: str | None) -> UnitOfWorkFactory:
        """Units of work scoped to `hall` (None: every hall)."""
        ...


class Writes(Protocol):
    """Small units of writes (job outcomes) that may share one transaction with others queued at the same
    moment (group commit). A unit runs on an open unit of work and must only write to the database: if the
    shared transaction fails, each unit is run again alone, so only the unit at fault fails."""

    async def run(self, unit: Callable[[UnitOfWork], Awaitable[T]]) -> T: ...

    async def together(self, write_many: Callable[[UnitOfWork, list[Any]], Awaitable[Any]], item: Any) -> Any:
        """Write `item` with the others given to the same `write_many` while a commit was in flight, in one
        call: `write_many(uow, items)` returns each item's result, or None. If the call fails, it is made
        again for each item alone, so only the item at fault fails (its caller gets the exception)."""
        ...
