"""The citizen's read of one parcel: one statement, one round trip, decoded here.

The busiest public read: SQLAlchemy's statement building and result processing cost many times the
query itself, so the statement goes on the driver's own connection (aiosqlite: one hop to its thread;
asyncpg: one fetch), and `SqlCitizenLookup` reads a SQLite file right on the event loop's thread."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic_core
from sqlalchemy.ext.asyncio import AsyncEngine

from ...ports.repositories.tracking import CitizenRow, CitizenScan
from ..db import reading
from ..sqlite.reader import SqliteReader
from .base import OnConnection

_CITIZEN_SQL = {
    # The newest matching dispatch and, as one JSON array, its scans.
    "sqlite": """
SELECT d.status, d.waybill_no, d.case_no, d.payload, d.reason, d.created_at, d.updated_at,
  d.delivery_method, d.direction,
  (SELECT json_group_array(json_array(e.time, e.id, e.status, e.description, e.location))
     FROM carrier_events e WHERE e.waybill_no = d.waybill_no) AS events
FROM dispatches d WHERE d.{key} = ? AND d.phone_last4 = ?
ORDER BY d.created_at DESC LIMIT 1""",
    "postgresql": """
SELECT d.status, d.waybill_no, d.case_no, d.payload::text AS payload, d.reason, d.created_at, d.updated_at,
  d.delivery_method, d.direction,
  (SELECT json_agg(json_build_array(e.time, e.id, e.status, e.description, e.location)
                   ORDER BY e.time DESC, e.id DESC)::text
     FROM carrier_events e WHERE e.waybill_no = d.waybill_no) AS events
FROM dispatches d WHERE d.{key} = $1 AND d.phone_last4 = $2
ORDER BY d.created_at DESC LIMIT 1""",
}


def _utc(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _key(waybill_no: str | None, case_no: str | None) -> tuple[str, str | None]:
    return ("waybill_no", waybill_no) if waybill_no else ("case_no", case_no)


def _citizen_row(row: tuple) -> CitizenRow:
    status, waybill, case, payload, reason, created_at, updated_at, method, direction, events = row
    scans = pydantic_core.from_json(events) if events else []
    scans.sort(key=lambda s: (s[0], s[1]), reverse=True)  # SQLite's aggregate has no ORDER BY
    return CitizenRow(
        status, waybill, case, pydantic_core.from_json(payload), reason, _utc(created_at), _utc(updated_at),
        method, direction, [CitizenScan(_utc(t), st, desc, loc) for t, _, st, desc, loc in scans],
    )  # fmt: skip


class SqlCitizenReads(OnConnection):
    async def find_for_citizen(
        self, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
    ) -> CitizenRow | None:
        key, value = _key(waybill_no, case_no)
        driver = (await self._conn.get_raw_connection()).driver_connection
        if self._conn.dialect.name == "postgresql":
            row = await driver.fetchrow(_CITIZEN_SQL["postgresql"].format(key=key), value, phone_last4)
        else:
            rows = await driver.execute_fetchall(_CITIZEN_SQL["sqlite"].format(key=key), (value, phone_last4))
            row = rows[0] if rows else None
        return None if row is None else _citizen_row(tuple(row))


class SqlCitizenLookup:
    """`ports.CitizenLookup`: on a SQLite file, read right here (see `SqliteReader`); otherwise, or when
    that reader meets a lock, on a pooled read-only connection."""

    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    async def find_for_citizen(
        self, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
    ) -> CitizenRow | None:
        reader = SqliteReader.of(self._engine)
        if reader is not None:
            key, value = _key(waybill_no, case_no)
            rows = reader.rows(_CITIZEN_SQL["sqlite"].format(key=key), (value, phone_last4))
            if rows is not None:
                return _citizen_row(rows[0]) if rows else None
        async with reading(self._engine) as conn:
            return await SqlCitizenReads(conn).find_for_citizen(
                phone_last4=phone_last4, waybill_no=waybill_no, case_no=case_no
            )
