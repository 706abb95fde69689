"""Engine creation: SQLite in WAL mode with durable commits, or PostgreSQL via asyncpg."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pydantic_core
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def _json(value) -> str:
    return pydantic_core.to_json(value).decode()  # several times faster than json.dumps


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    if not is_sqlite(url):
        return create_async_engine(
            url, pool_size=10, max_overflow=10, pool_pre_ping=True, json_serializer=_json
        )
    # SQLite has one writer: every transaction takes the write lock up front (BEGIN IMMEDIATE), so
    # two writers never deadlock upgrading read locks; others wait in the busy handler. A few
    # connections keep a handler that needs a second one (auth inside a read) from starving.
    engine = create_async_engine(url, pool_size=4, max_overflow=0, pool_timeout=30, json_serializer=_json)
    _sqlite_setup(engine.sync_engine)
    return engine


def create_writer_engine(url: str) -> Engine | None:
    """SQLite only: a synchronous engine for the group-commit thread, which runs a whole batch in one
    hop to a thread instead of one hop per statement. None for other databases."""
    if not is_sqlite(url):
        return None
    engine = create_sync_engine(
        make_url(url).set(drivername="sqlite"), pool_size=1, max_overflow=0, json_serializer=_json
    )
    _sqlite_setup(engine)
    return engine


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # a commit is on disk before we answer
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # Readers (see `reading`) begin deferred and run beside the writer, thanks to WAL.
        readonly = conn.get_execution_options().get("readonly")
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only: on SQLite it does not take the write lock."""
    async with engine.connect() as conn:
        await conn.execution_options(readonly=True)
        yield conn
