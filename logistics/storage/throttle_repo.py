"""Failed citizen lookups on disk: one row per bucket (an address, a waybill or a case number) with
its count in the current window. Counting is one upsert (no read-modify-write), so instances and
concurrent requests never lose a failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..ports.repositories.throttle import Bucket, Window
from .sqlite.reader import SqliteReader
from .throttle_tables import citizen_failures as t


def _where(buckets: list[Bucket]):
    return or_(*((t.c.kind == kind) & (t.c.key == key) for kind, key in buckets))


def _utc(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_SQLITE_READ = {  # by number of buckets; each an index search (SQLite's multi-index OR)
    n: "SELECT kind, key, failures, window_ends_at FROM citizen_failures WHERE "
    + " OR ".join(["(kind = ? AND key = ?)"] * n)
    for n in (1, 2, 3)
}


class SqlCitizenFailures:
    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def windows(self, buckets: list[Bucket]) -> list[Window]:
        """The stored windows of these buckets (expired ones included). A read only: on a SQLite file, on
        the loop's thread (see `SqliteReader`), else on the unit of work's connection."""
        if not buckets:
            return []
        reader = SqliteReader.of(self._conn.engine)
        if reader is not None and len(buckets) in _SQLITE_READ:
            rows = reader.rows(_SQLITE_READ[len(buckets)], sum(buckets, ()))
            if rows is not None:
                return [Window(kind, key, failures, _utc(ends)) for kind, key, failures, ends in rows]
        query = select(t.c.kind, t.c.key, t.c.failures, t.c.window_ends_at).where(_where(buckets))
        return [Window(*row) for row in await self._conn.execute(query)]

    async def count_failure(self, windows_s: dict[Bucket, float], *, now: datetime) -> dict[Bucket, Window]:
        """One more failure in each bucket (given with its window length), in one statement: a bucket whose
        window has ended starts a new one at `now`. Returns each bucket's window after the count."""
        if not windows_s:
            return {}
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        rows = [
            dict(
                kind=kind,
                key=key,
                failures=1,
                window_started_at=now,
                window_ends_at=now + timedelta(seconds=s),
            )
            for (kind, key), s in sorted(windows_s.items())
        ]
        stmt = dialect.insert(t).values(rows)
        ended = t.c.window_ends_at <= bindparam("now", now, type_=t.c.window_ends_at.type)
        upsert = stmt.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={
                "failures": case((ended, 1), else_=t.c.failures + 1),
                "window_started_at": case(
                    (ended, stmt.excluded.window_started_at), else_=t.c.window_started_at
                ),
                "window_ends_at": case((ended, stmt.excluded.window_ends_at), else_=t.c.window_ends_at),
            },
        ).returning(t.c.kind, t.c.key, t.c.failures, t.c.window_ends_at)
        return {(r.kind, r.key): Window(*r) for r in await self._conn.execute(upsert)}

    async def forget_ended(self, *, now: datetime) -> int:
        """Drop the windows that have ended (they count nothing any more)."""
        return (await self._conn.execute(delete(t).where(t.c.window_ends_at <= now))).rowcount
