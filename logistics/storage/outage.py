"""Is an error the database being away (refused, cut, restarting, out of connections), as opposed to a
fault in what we asked of it? The web answers the first with 503 and Retry-After; the group committer
keeps job outcomes in memory until they can be written."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc

RETRY_AFTER_S = 2
"""What a client is told to wait while the database is away (a PostgreSQL restart takes about a second)."""

_DRIVERS = ("asyncpg", "sqlalchemy", "aiosqlite")
_SQLSTATES = ("08", "57P", "53300")  # connection exception, admin shutdown / cannot connect now, too many
_SQLITE_AWAY = ("database is locked", "unable to open database file", "disk i/o error")


class DatabaseUnavailable(Exception):
    """Raised instead of waiting when too many writes are already kept for a database that is away."""


def database_unavailable(error: BaseException) -> bool:
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:  # the error, then what caused it
        seen.add(id(e))
        if _away(e):
            return True
        e = e.__cause__ or e.__context__
    return False


def _away(e: BaseException) -> bool:
    if isinstance(e, DatabaseUnavailable | exc.TimeoutError):  # TimeoutError: the pool had no connection
        return True
    if isinstance(e, exc.DBAPIError):
        if e.connection_invalidated or isinstance(e, exc.InterfaceError):
            return True
        return e.orig is not None and e.orig is not e and _away(e.orig)
    if isinstance(e, sqlite3.OperationalError):  # SQLite's own paths raise it unwrapped (storage.sqlite)
        return any(s in str(e).lower() for s in _SQLITE_AWAY)
    sqlstate = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_SQLSTATES):
        return True
    if type(e).__module__.startswith("asyncpg") and "connection" in type(e).__name__.lower():
        return True
    if isinstance(e, OSError | TimeoutError):  # a socket error: the database's only if raised from its driver
        return _raised_in_driver(e)
    return False


def _raised_in_driver(e: BaseException) -> bool:
    tb = e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").startswith(_DRIVERS):
            return True
        tb = tb.tb_next
    return False
