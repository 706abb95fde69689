"""The citizen's read of one parcel, or of one case: one statement per read, decoded here.

The busiest public read: SQLAlchemy's statement building and result processing cost many times the
query itself, so the statement goes on the driver's own connection (aiosqlite: one hop to its thread;
asyncpg: one fetch), and `SqlCitizenLookup` reads a SQLite file right on the event loop's thread.

A parcel comes with its scans, its moves to awaiting_pickup / picked_up (a counter or village point
pickup has no carrier scans for them) and its case's stages, each as one JSON array."""

from __future__ import annotations

from datetime import UTC, datetime

import pydantic_core
from sqlalchemy.ext.asyncio import AsyncEngine

from ...ports.repositories.tracking import CitizenCase, CitizenRow, CitizenScan, CitizenStage
from ..db import reading
from ..sqlite.reader import SqliteReader
from .base import OnConnection

_PICKUP_STEPS = "('awaiting_pickup', 'picked_up')"
_COLUMNS = {
    "sqlite": f"""
SELECT d.status, d.waybill_no, d.case_no, d.payload, d.reason, d.created_at, d.updated_at,
  d.delivery_method, d.direction,
  (SELECT json_group_array(json_array(e.time, e.id, e.status, e.description, e.location))
     FROM carrier_events e WHERE e.waybill_no = d.waybill_no) AS events,
  d.client_id,
  (SELECT json_group_array(json_array(a.at, a.id, a.to_status))
     FROM dispatch_events a WHERE a.dispatch_id = d.id AND a.to_status IN {_PICKUP_STEPS}) AS steps,
  (SELECT json_group_array(json_array(c.at, c.id, c.stage, c.note, c.matter_name))
     FROM case_events c WHERE c.client_id = d.client_id AND c.case_no = d.case_no) AS stages
FROM dispatches d""",
    "postgresql": f"""
SELECT d.status, d.waybill_no, d.case_no, d.payload::text AS payload, d.reason, d.created_at, d.updated_at,
  d.delivery_method, d.direction,
  (SELECT json_agg(json_build_array(e.time, e.id, e.status, e.description, e.location)
                   ORDER BY e.time DESC, e.id DESC)::text
     FROM carrier_events e WHERE e.waybill_no = d.waybill_no) AS events,
  d.client_id,
  (SELECT json_agg(json_build_array(a.at, a.id, a.to_status) ORDER BY a.id)::text
     FROM dispatch_events a WHERE a.dispatch_id = d.id AND a.to_status IN {_PICKUP_STEPS}) AS steps,
  (SELECT json_agg(json_build_array(c.at, c.id, c.stage, c.note, c.matter_name) ORDER BY c.at, c.id)::text
     FROM case_events c WHERE c.client_id = d.client_id AND c.case_no = d.case_no) AS stages
FROM dispatches d""",
}
_P = {"sqlite": ("?1", "?2"), "postgresql": ("$1", "$2")}  # (the number, the phone's last four digits)


def _parcel_sql(dialect: str, key: str) -> str:
    """The newest dispatch matching the number and the phone."""
    number, phone = _P[dialect]
    return (
        f"{_COLUMNS[dialect]} WHERE d.{key} = {number} AND d.phone_last4 = {phone}"
        " ORDER BY d.created_at DESC LIMIT 1"
    )


def _case_parcels_sql(dialect: str) -> str:
    """The dispatches of the cases with that number where the phone is a recipient's or the applicant's."""
    number, phone = _P[dialect]
    return f"""{_COLUMNS[dialect]}
WHERE d.case_no = {number} AND (
  EXISTS (SELECT 1 FROM dispatches o
          WHERE o.case_no = d.case_no AND o.client_id = d.client_id AND o.phone_last4 = {phone})
  OR EXISTS (SELECT 1 FROM case_events c
             WHERE c.case_no = d.case_no AND c.client_id = d.client_id AND c.phone_last4 = {phone}))
ORDER BY d.created_at DESC LIMIT 8"""


def _case_stages_sql(dialect: str) -> str:
    """The stages of the cases with that number where the phone is the applicant's (no parcel yet)."""
    number, phone = _P[dialect]
    return f"""SELECT c.client_id, c.at, c.id, c.stage, c.note, c.matter_name FROM case_events c
WHERE c.case_no = {number} AND c.client_id IN (
  SELECT client_id FROM case_events WHERE case_no = {number} AND phone_last4 = {phone})
ORDER BY c.at, c.id LIMIT 200"""


def _utc(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _key(waybill_no: str | None, case_no: str | None) -> tuple[str, str | None]:
    return ("waybill_no", waybill_no) if waybill_no else ("case_no", case_no)


def _json(text) -> list:
    return pydantic_core.from_json(text) if text else []


def _citizen_row(row: tuple) -> CitizenRow:
    status, waybill, case, payload, reason, created_at, updated_at, method, direction, events = row[:10]
    client_id, steps, stages = row[10:13]
    scans = _json(events)
    scans.sort(key=lambda s: (s[0], s[1]), reverse=True)  # SQLite's aggregate has no ORDER BY
    moves = sorted(_json(steps), key=lambda s: s[1])
    staged = sorted(_json(stages), key=lambda s: (_utc(s[0]), s[1]))
    return CitizenRow(
        status, waybill, case, pydantic_core.from_json(payload), reason, _utc(created_at), _utc(updated_at),
        method, direction, [CitizenScan(_utc(t), st, desc, loc) for t, _, st, desc, loc in scans],
        client_id, tuple(CitizenScan(_utc(t), st, "", "") for t, _, st in moves),
        tuple(CitizenStage(_utc(t), stage, note, matter) for t, _, stage, note, matter in staged),
    )  # fmt: skip


def _one_client(parcels: list[CitizenRow]) -> list[CitizenRow]:
    """The newest parcel's client's parcels (another client's case of the same number is another case)."""
    return [p for p in parcels if p.client_id == parcels[0].client_id] if parcels else []


def _stages_only(rows: list) -> CitizenCase | None:
    if not rows:
        return None
    client = max(rows, key=lambda r: (_utc(r[1]), r[2]))[0]  # the client whose case moved last
    stages = [
        CitizenStage(_utc(t), stage, note, matter) for c, t, _, stage, note, matter in rows if c == client
    ]
    return CitizenCase([], stages)


class SqlCitizenReads(OnConnection):
    async def _rows(self, sql: str, params: tuple) -> list:
        driver = (await self._conn.get_raw_connection()).driver_connection
        if self._conn.dialect.name == "postgresql":
            return list(await driver.fetch(sql, *params))
        return list(await driver.execute_fetchall(sql, params))

    async def find_for_citizen(
        self, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
    ) -> CitizenRow | None:
        key, value = _key(waybill_no, case_no)
        rows = await self._rows(_parcel_sql(self._conn.dialect.name, key), (value, phone_last4))
        return _citizen_row(tuple(rows[0])) if rows else None

    async def find_case_for_citizen(self, *, phone_last4: str, case_no: str) -> CitizenCase | None:
        dialect = self._conn.dialect.name
        parcels = await self._rows(_case_parcels_sql(dialect), (case_no, phone_last4))
        if parcels:
            found = _one_client([_citizen_row(tuple(r)) for r in parcels])
            return CitizenCase(found, list(found[0].stages))
        return _stages_only(
            [tuple(r) for r in await self._rows(_case_stages_sql(dialect), (case_no, phone_last4))]
        )


class SqlCitizenLookup:
    """`ports.CitizenLookup`: on a SQLite file, read right here (see `SqliteReader`); otherwise, or when
    that reader meets a lock, on a pooled read-only connection."""

    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    def _here(self, sql: str, params: tuple) -> list | None:
        reader = SqliteReader.of(self._engine)
        return None if reader is None else reader.rows(sql, params)

    async def find_for_citizen(
        self, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
    ) -> CitizenRow | None:
        key, value = _key(waybill_no, case_no)
        rows = self._here(_parcel_sql("sqlite", key), (value, phone_last4))
        if rows is not None:
            return _citizen_row(rows[0]) if rows else None
        async with reading(self._engine) as conn:
            return await SqlCitizenReads(conn).find_for_citizen(
                phone_last4=phone_last4, waybill_no=waybill_no, case_no=case_no
            )

    async def find_case_for_citizen(self, *, phone_last4: str, case_no: str) -> CitizenCase | None:
        parcels = self._here(_case_parcels_sql("sqlite"), (case_no, phone_last4))
        if parcels:
            found = _one_client([_citizen_row(r) for r in parcels])
            return CitizenCase(found, list(found[0].stages))
        stages = (
            self._here(_case_stages_sql("sqlite"), (case_no, phone_last4)) if parcels is not None else None
        )
        if stages is not None:
            return _stages_only(stages)
        async with reading(self._engine) as conn:
            return await SqlCitizenReads(conn).find_case_for_citizen(phone_last4=phone_last4, case_no=case_no)
