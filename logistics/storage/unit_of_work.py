"""The unit of work on SQLAlchemy: one connection in one transaction, and the repositories bound to it."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import ModuleType
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..jobs import queue
from . import (
    console_repo,
    dispatch_repo,
    pool_repo,
    pull_repo,
    throttle_repo,
    tracking_repo,
    users_repo,
)
from .db import reading
from .finance_repo import SqlFinanceRecords
from .group_commit import UnitCommitter

T = TypeVar("T")


class _Bound:
    """Transitional: a repository module whose functions take the connection first, with it bound.
    Each is replaced by the module's own repository class as it is converted."""

    def __init__(self, module: ModuleType, conn: AsyncConnection):
        self._module, self._conn = module, conn

    def __getattr__(self, name: str) -> Any:
        return functools.partial(getattr(self._module, name), self._conn)


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine | None, *, read_only: bool = False):
        self._engine, self._read_only = engine, read_only
        self._transaction: AbstractAsyncContextManager[AsyncConnection] | None = None

    @classmethod
    def on(cls, conn: AsyncConnection) -> SqlUnitOfWork:
        """The repositories of a transaction that is already open (group commit); entering it does nothing."""
        uow = cls(None)
        uow._bind(conn)
        return uow

    def _bind(self, conn: AsyncConnection) -> None:
        self.conn = conn  # transitional: for code not yet on the repositories
        self.dispatches = _Bound(dispatch_repo, conn)
        self.jobs = _Bound(queue, conn)
        self.tracking = _Bound(tracking_repo, conn)
        self.pool = _Bound(pool_repo, conn)
        self.users = _Bound(users_repo, conn)
        self.console = _Bound(console_repo, conn)
        self.finance = SqlFinanceRecords(conn)
        self.pull = _Bound(pull_repo, conn)
        self.throttle = _Bound(throttle_repo, conn)

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._engine is None:
            return self
        if self._transaction is not None:
            raise RuntimeError("a unit of work is entered once; ask the factory for another")
        self._transaction = reading(self._engine) if self._read_only else self._engine.begin()
        self._bind(await self._transaction.__aenter__())
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._transaction is not None:
            await self._transaction.__aexit__(*exc_info)


def unit_of_work_factory(engine: AsyncEngine) -> Callable[..., SqlUnitOfWork]:
    def uow(*, read_only: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, read_only=read_only)

    return uow


class SqlWrites:
    """`ports.Writes` on the group committer: the units queued together share one transaction."""

    def __init__(self, committer: UnitCommitter):
        self.committer = committer

    async def run(self, unit: Callable[[SqlUnitOfWork], Awaitable[T]]) -> T:
        return await self.committer.run(lambda conn: unit(SqlUnitOfWork.on(conn)))
