"""SQLite group commit on the event loop's thread, made durable by one fsync of the WAL in a thread.

A batch's statements and its COMMIT run on the loop's thread with `synchronous=NORMAL`: the commit
hands the WAL frames to the OS and returns within a millisecond. `durable` then fsyncs the WAL file in
a thread, which is exactly what `synchronous=FULL` does at a commit in WAL mode; nobody is answered
before it returns. A writer thread instead would wait for the GIL (up to the 5 ms switch interval
while the loop is busy) after each statement SQLite runs with the GIL released.

Readers may see a batch before its fsync returns. Anything they commit after it (e.g. a claimed
booking job) goes later in the same WAL, and is only on disk once the batch is, so nothing durable can
depend on a batch that a crash loses.

Never blocking the loop also means no busy handler here: SQLite's sleeps in it. When another
connection still holds the write lock (its COMMIT is syncing to disk), `write` raises `Busy` before
doing anything, and the caller waits its turn asynchronously. SQLite's automatic checkpoint would
likewise block the loop on disk I/O, so checkpoints run in a thread (PASSIVE: writers go on)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

CHECKPOINT_EVERY_S = 1.0


class Busy(Exception):
    """Another connection holds SQLite's write lock; nothing was done."""


class SqliteWriter:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.wal = f"{engine.url.database}-wal"
        self._fairy = None
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpointed = time.monotonic()
        self._checkpointing: asyncio.Future | None = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._fairy is None:
            self._fairy = self.engine.raw_connection()
            conn = self._fairy.dbapi_connection
            conn.execute("PRAGMA synchronous=NORMAL")  # `durable` fsyncs instead
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("PRAGMA busy_timeout=0")  # another process is writing: fail, never block the loop
        return self._fairy.dbapi_connection

    def write(
        self, batch: Callable[[sqlite3.Connection, list[Any]], list[Any]], items: list[Any]
    ) -> list[Any]:
        """Run `batch` in one transaction and commit it, to the OS: call `durable` before answering."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                raise Busy() from e
            raise
        try:
            results = batch(conn, items)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return results

    async def durable(self) -> None:
        """Everything committed so far is on disk once this returns."""
        await asyncio.to_thread(_fsync, self.wal)
        if time.monotonic() - self._checkpointed > CHECKPOINT_EVERY_S and self._checkpointing is None:
            self._checkpointing = asyncio.ensure_future(asyncio.to_thread(self._checkpoint))
            self._checkpointing.add_done_callback(self._checkpoint_done)

    def _checkpoint_done(self, _future: asyncio.Future) -> None:
        self._checkpointing, self._checkpointed = None, time.monotonic()

    def _checkpoint(self) -> None:
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self.engine.url.database, check_same_thread=False)
        with contextlib.suppress(sqlite3.OperationalError):  # busy: the next one will do
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        if self._checkpointing is not None:
            await self._checkpointing
        for conn in (self._fairy, self._checkpointer):
            if conn is not None:
                conn.close()
        self._fairy = self._checkpointer = None
        self.engine.dispose()


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
