"""The unit of work on SQLAlchemy: one connection in one transaction, and the repositories bound to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..domain.hall import Hall
from .case_repo import SqlCaseEvents
from .console_repo import SqlConsoleRecords
from .db import reading
from .dispatch_repo import SqlDispatches
from .finance_repo import SqlFinanceRecords
from .group_commit import GroupCommitter, WriteMany, unit_entry
from .halls_repo import SqlHalls
from .job_repo import SqlJobs
from .pool_repo import SqlWaybillPool
from .pull_repo import SqlPullCursors
from .statistics_repo import SqlStatistics
from .throttle_repo import SqlCitizenFailures
from .tracking import SqlTrackingRecords
from .users_repo import SqlUsers
from .village_repo import SqlVillagePoints

T = TypeVar("T")


class SqlUnitOfWork:
    """`hall`: the scope. With a hall code, every repository keeps to that hall's rows (another hall's
    dispatch is not found); None: every hall (background work, an admin without a hall).
    `default_hall`: the default hall as the settings give it (CERTPOST_ORIGIN)."""

    def __init__(
        self,
        engine: AsyncEngine | None,
        *,
        read_only: bool = False,
        hall: str | None = None,
        default_hall: Hall | None = None,
    ):
        self._engine, self._read_only = engine, read_only
        self.hall, self._default_hall = hall, default_hall
        self._transaction: AbstractAsyncContextManager[AsyncConnection] | _OnDemand | None = None

    @classmethod
    def on(
        cls, conn: AsyncConnection, *, hall: str | None = None, default_hall: Hall | None = None
    ) -> SqlUnitOfWork:
        """The repositories of a transaction that is already open; entering it does nothing."""
        uow = cls(None, hall=hall, default_hall=default_hall)
        uow._bind(conn)
        return uow

    def _bind(self, conn: AsyncConnection) -> None:
        hall = self.hall
        self.dispatches = SqlDispatches(conn, hall)
        self.cases = SqlCaseEvents(conn, hall)
        self.jobs = SqlJobs(conn)
        self.tracking = SqlTrackingRecords(conn, hall)
        self.pool = SqlWaybillPool(conn)
        self.users = SqlUsers(conn, hall)
        self.console = SqlConsoleRecords(conn, hall)
        self.finance = SqlFinanceRecords(conn, hall)
        self.pull = SqlPullCursors(conn)
        self.throttle = SqlCitizenFailures(conn)
        self.statistics = SqlStatistics(conn, hall)
        self.halls = SqlHalls(conn, self._default_hall)
        self.village_points = SqlVillagePoints(conn, hall)

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._engine is None:
            return self
        if self._transaction is not None:
            raise RuntimeError("a unit of work is entered once; ask the factory for another")
        if self._read_only:
            self._transaction = _OnDemand(self._engine)
            self._bind(self._transaction)  # type: ignore[arg-type]
            return self
        self._transaction = self._engine.begin()
        self._bind(await self._transaction.__aenter__())
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._transaction is not None:
            await self._transaction.__aexit__(*exc_info)


class _OnDemand:
    """The read-only connection of a unit of work, taken from the pool at its first statement: a read
    that needs none (a SQLite file read on the loop's thread, see `SqliteReader`) costs no checkout."""

    def __init__(self, engine: AsyncEngine):
        self.engine, self.dialect = engine, engine.dialect
        self._reading: AbstractAsyncContextManager[AsyncConnection] | None = None
        self._conn: AsyncConnection | None = None

    async def _open(self) -> AsyncConnection:
        if self._conn is None:
            opening = reading(self.engine)
            self._conn = await opening.__aenter__()
            self._reading = opening  # only once open: a connection that could not be had is not closed
        return self._conn

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self._open()).execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self._open()).scalar(*args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self._open()).scalars(*args, **kwargs)

    async def stream(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self._open()).stream(*args, **kwargs)

    async def get_raw_connection(self) -> Any:
        return await (await self._open()).get_raw_connection()

    async def run_sync(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self._open()).run_sync(*args, **kwargs)

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._reading is not None:
            self._reading, reading_ = None, self._reading
            self._conn = None
            await reading_.__aexit__(*exc_info)


class SqlUnitOfWorkFactory:
    """`ports.UnitOfWorkFactory`: units of work on `engine`, scoped to `hall` (None: every hall)."""

    def __init__(self, engine: AsyncEngine, *, hall: str | None = None, default_hall: Hall | None = None):
        self.engine, self.hall, self.default_hall = engine, hall, default_hall

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, read_only=read_only, hall=self.hall, default_hall=self.default_hall)

    def for_hall(self, hall: str | None) -> SqlUnitOfWorkFactory:
        """The same factory scoped to `hall` (None: every hall)."""
        return SqlUnitOfWorkFactory(self.engine, hall=hall, default_hall=self.default_hall)


def unit_of_work_factory(engine: AsyncEngine, *, default_hall: Hall | None = None) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine, default_hall=default_hall)


class SqlWrites:
    """`ports.Writes` on the group committer: the units queued together share one transaction.
    Build it with `GroupCommitter(unit_of_work_factory(engine), write_grouped)`."""

    def __init__(self, committer: GroupCommitter):
        self.committer = committer

    async def run(self, unit: Callable[[SqlUnitOfWork], Awaitable[T]]) -> T:
        return await self.committer.submit(unit_entry(unit))

    async def together(self, write_many: WriteMany, item: Any) -> Any:
        return await self.committer.submit((write_many, item))
