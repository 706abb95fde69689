"""Engine creation: SQLite in WAL mode with durable commits, or PostgreSQL via asyncpg."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakKeyDictionary

import pydantic_core
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_only


def _json(value) -> str:
    return pydantic_core.to_json(value).decode()  # several times faster than json.dumps


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str) -> AsyncEngine:
    if not is_sqlite(url):
        return create_async_engine(
            url, pool_size=10, max_overflow=10, pool_pre_ping=True, json_serializer=_json
        )
    # SQLite has one writer: every write transaction takes the write lock up front (BEGIN IMMEDIATE),
    # so two writers never deadlock upgrading read locks. Inside this process writers queue on an
    # asyncio lock first (fair, no sleeping in SQLite's busy handler); other processes (the CLI, a
    # second gateway) meet the busy timeout. Readers (`reading`) begin deferred and take neither.
    engine = create_async_engine(url, pool_size=4, max_overflow=0, pool_timeout=30, json_serializer=_json)
    gate = asyncio.Lock()
    _GATES[engine.sync_engine] = gate
    _sqlite_setup(engine.sync_engine, gate)
    return engine


_GATES: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


def write_gate(engine: AsyncEngine) -> asyncio.Lock | None:
    """The lock SQLite writers of this engine queue on (None on PostgreSQL, which has row locks)."""
    return _GATES.get(engine.sync_engine)


def create_writer_engine(url: str) -> Engine | None:
    """SQLite files only: a synchronous engine for intake's group commit (`sqlite_writer.SqliteWriter`),
    which writes a batch straight on its DB-API connection. None for other databases."""
    if not is_sqlite(url) or make_url(url).database in (None, "", ":memory:"):
        return None
    engine = create_sync_engine(
        make_url(url).set(drivername="sqlite"), pool_size=1, max_overflow=0, json_serializer=_json
    )
    _sqlite_setup(engine)
    return engine


def _sqlite_setup(engine: Engine, gate: asyncio.Lock | None = None) -> None:
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
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")  # a WAL reader runs beside the writer
            return
        if gate is not None:
            await_only(gate.acquire())  # we run inside SQLAlchemy's greenlet: this awaits
            held = _Held(gate)
            _HELD[conn] = held  # commit or rollback releases it
            conn.info["write_gate"] = held  # else the pool, when the connection comes back
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    @event.listens_for(engine, "commit")
    def _committed(conn):
        _release(conn)

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn):
        _release(conn)

    @event.listens_for(engine, "invalidate")
    def _invalidated(dbapi_conn, _record, _exception):
        # A task cancelled mid-statement (a timeout, a stop) invalidates its connection, whose
        # cursor may live on in the exception's traceback; on Python 3.11, closing a connection
        # with a live cursor leaves it open (a "zombie") and holding SQLite's write lock, so every
        # later write would fail. End the transaction before the pool closes the connection.
        with contextlib.suppress(Exception):
            dbapi_conn.rollback()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn, record):
        # A connection that died mid-transaction (invalidated, no rollback event) must not keep
        # the gate: every write in the process would wait forever.
        held = record.info.pop("write_gate", None)
        if held is not None:
            held.release()


class _Held:
    """The write gate as one transaction holds it: released once, by whichever comes first."""

    def __init__(self, gate: asyncio.Lock):
        self.gate: asyncio.Lock | None = gate

    def release(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.release()


# Keyed by the Connection itself: once a cancellation has invalidated its transaction, its `info`
# can no longer be read (PendingRollbackError), and the rollback must still release the gate.
_HELD: WeakKeyDictionary = WeakKeyDictionary()


def _release(conn) -> None:
    held = _HELD.pop(conn, None)
    if held is not None:
        held.release()


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for reads only: on SQLite it does not take the write lock."""
    async with engine.connect() as conn:
        await conn.execution_options(readonly=True)
        yield conn
