"""SQLite engines: WAL, durable commits, one writer at a time.

SQLite has one writer: every write transaction takes the write lock up front (BEGIN IMMEDIATE), so two
writers never deadlock upgrading read locks. Inside this process writers queue on an asyncio lock first
(the write gate: fair, no sleeping in SQLite's busy handler); other processes (the CLI, a second
gateway) meet the busy timeout. Readers (`storage.db.reading`) begin deferred and take neither.

The gate is taken in SQLAlchemy's "begin" event, so that it covers every write transaction of the
engine however it starts (the unit of work, `engine.begin()`, `connect()` then `begin()`, autobegin): a
wrapper around the unit of work alone would leave the job queue's claims and the other direct callers
to SQLite's sleeping busy handler, and slow booking. The event runs in SQLAlchemy's greenlet, where
`await_only` awaits the lock. Each engine carries its own gate in its execution options."""

from __future__ import annotations

import asyncio
import contextlib
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_only

from ..json_text import json_text


class WriteGate:
    """The asyncio lock the writers of one engine queue on, and which transaction holds it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        # Keyed by the Connection itself: once a cancellation has invalidated its transaction, its
        # `info` can no longer be read (PendingRollbackError), and the rollback must still release it.
        self._held: WeakKeyDictionary = WeakKeyDictionary()

    def take(self, conn) -> None:
        await_only(self.lock.acquire())  # we run inside SQLAlchemy's greenlet: this awaits
        held = _Held(self.lock)
        self._held[conn] = held  # commit or rollback releases it
        conn.info["write_gate"] = held  # else the pool, when the connection comes back

    def release(self, conn) -> None:
        held = self._held.pop(conn, None)
        if held is not None:
            held.release()


class _Held:
    """The write gate as one transaction holds it: released once, by whichever comes first."""

    def __init__(self, lock: asyncio.Lock):
        self.lock: asyncio.Lock | None = lock

    def release(self) -> None:
        lock, self.lock = self.lock, None
        if lock is not None:
            lock.release()


def create_sqlite_engine(url: str) -> AsyncEngine:
    gate = WriteGate()
    engine = create_async_engine(
        url, pool_size=4, max_overflow=0, pool_timeout=30, json_serializer=json_text,
        execution_options={"write_gate": gate},
    )  # fmt: skip
    _setup(engine.sync_engine, gate)
    return engine


def write_gate(engine: AsyncEngine) -> asyncio.Lock | None:
    """The lock this engine's writers queue on (None for other databases, which have row locks)."""
    gate = engine.sync_engine.get_execution_options().get("write_gate")
    return gate.lock if gate is not None else None


def create_writer_engine(url: str) -> Engine | None:
    """SQLite files only: a synchronous engine for the fast intake writer (`FastIntake`), which writes a
    batch straight on its DB-API connection. None for other databases."""
    if make_url(url).get_backend_name() != "sqlite" or make_url(url).database in (None, "", ":memory:"):
        return None
    engine = create_sync_engine(
        make_url(url).set(drivername="sqlite"), pool_size=1, max_overflow=0, json_serializer=json_text
    )
    _setup(engine, None)
    return engine


def _setup(engine: Engine, gate: WriteGate | None) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=15000")  # first: switching a new file to WAL waits for others too
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # a commit is on disk before we answer
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")  # a WAL reader runs beside the writer
            return
        if gate is not None:
            gate.take(conn)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if gate is not None:
                gate.release(conn)
            raise

    if gate is not None:

        @event.listens_for(engine, "commit")
        def _committed(conn):
            gate.release(conn)

        @event.listens_for(engine, "rollback")
        def _rolled_back(conn):
            gate.release(conn)

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
