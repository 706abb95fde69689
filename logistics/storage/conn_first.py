"""Transitional, while callers move to the unit of work: a repository module's `__getattr__` that
offers each method of its class as a function taking the connection first, as the module had them
(`dispatch_repo.get(conn, id)` is `SqlDispatches(conn).get(id)`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection


def conn_first(repository: type) -> Callable[[str], Any]:
    def module_getattr(name: str) -> Any:
        method = None if name.startswith("_") else getattr(repository, name, None)
        if method is None:
            raise AttributeError(name)

        async def call(conn: AsyncConnection, *args, **kwargs):
            return await method(repository(conn), *args, **kwargs)

        return call

    return module_getattr
