"""Engine creation: SQLite in WAL mode with durable commits (`storage.sqlite`), or PostgreSQL via asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .json_text import json_text
from .sqlite.engine import create_sqlite_engine

CONNECT_TIMEOUT_S = 10


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        return create_sqlite_engine(url)
    # pre-ping: a pooled connection that died with a PostgreSQL restart is replaced before use, never
    # handed to a request; the connect timeout bounds how long a request waits for an unreachable server.
    # No JIT: it compiled the dashboard's joins for longer (100+ ms) than they take to run.
    return create_async_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, json_serializer=json_text,
        connect_args={"timeout": CONNECT_TIMEOUT_S, "server_settings": {"jit": "off"}},
    )  # fmt: skip


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only: on SQLite it does not take the write lock."""
    async with engine.connect() as conn:
        await conn.execution_options(readonly=True)
        yield conn
