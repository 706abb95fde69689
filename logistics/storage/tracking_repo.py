"""Carrier events, per-parcel poll state, outbound notices and counters on disk."""

from __future__ import annotations

import sqlite3
import weakref
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pydantic_core
from sqlalchemy import Boolean, and_, bindparam, event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..ports import TrackEvent
from ..ports.repositories.tracking import CitizenRow, CitizenScan
from .db import reading
from .tables import dispatches
from .tracking_tables import carrier_events, counters, notices, tracking


def _dialect(conn: AsyncConnection):
    return postgresql if conn.dialect.name == "postgresql" else sqlite


# ---- carrier events -------------------------------------------------------------------------


def _event_row(e: TrackEvent, source: str, now: datetime) -> dict:
    return dict(
        waybill_no=e.waybill_no,
        time=e.time,
        raw_code=e.raw_code,
        status=e.status.value,
        description=e.description,
        location=e.location,
        reason=e.reason,
        extra=e.extra,
        source=source,
        applied=False,
        received_at=now,
    )


async def insert_events(
    conn: AsyncConnection, events: list[TrackEvent], *, source: str, now: datetime
) -> int:
    """Store scans not seen before (same waybill, code and time); returns how many were new."""
    return sum((await store_events(conn, events, source=source, now=now)).values())


async def store_events(
    conn: AsyncConnection, events: list[TrackEvent], *, source: str, now: datetime
) -> Counter[str]:
    """Store scans not seen before (same waybill, code and time) in one multi-row statement;
    returns how many were new per waybill (RETURNING names only the rows really inserted)."""
    rows, seen = [], set()
    for e in events:
        key = (e.waybill_no, e.raw_code, e.time)
        if key not in seen:
            seen.add(key)
            rows.append(_event_row(e, source, now))
    if not rows:
        return Counter()
    stmt = (
        _dialect(conn)
        .insert(carrier_events)
        .on_conflict_do_nothing(index_elements=["waybill_no", "raw_code", "time"])
        .returning(carrier_events.c.waybill_no)
    )
    return Counter(await conn.scalars(stmt, rows))


_PENDING_COLUMNS = (
    carrier_events.c.id,
    carrier_events.c.waybill_no,
    carrier_events.c.time,
    carrier_events.c.raw_code,
    carrier_events.c.status,
    carrier_events.c.reason,
    carrier_events.c.location,
)


async def pending_events(conn: AsyncConnection, waybill_no: str, since: datetime | None) -> list:
    """Stored scans not applied yet and not older than the newest applied one, oldest first."""
    query = select(*_PENDING_COLUMNS).where(
        carrier_events.c.waybill_no == waybill_no, carrier_events.c.applied.is_(False)
    )
    if since is not None:
        query = query.where(carrier_events.c.time >= since)
    return list(await conn.execute(query.order_by(carrier_events.c.time, carrier_events.c.id)))


async def pending_events_many(conn: AsyncConnection, waybill_nos: list[str]) -> dict[str, list]:
    """Stored scans not applied yet of several parcels, oldest first per parcel."""
    query = (
        select(*_PENDING_COLUMNS)
        .where(carrier_events.c.waybill_no.in_(waybill_nos), carrier_events.c.applied.is_(False))
        .order_by(carrier_events.c.waybill_no, carrier_events.c.time, carrier_events.c.id)
    )
    found: dict[str, list] = {}
    for row in await conn.execute(query):
        found.setdefault(row.waybill_no, []).append(row)
    return found


async def mark_applied(conn: AsyncConnection, event_ids: list[int]) -> None:
    if event_ids:
        await conn.execute(
            update(carrier_events).where(carrier_events.c.id.in_(event_ids)).values(applied=True)
        )


async def events_for(conn: AsyncConnection, waybill_no: str) -> list:
    """Every stored scan of a parcel (time, raw code, status, description, location), newest first."""
    columns = (
        carrier_events.c.time,
        carrier_events.c.raw_code,
        carrier_events.c.status,
        carrier_events.c.description,
        carrier_events.c.location,
    )
    query = select(*columns).where(carrier_events.c.waybill_no == waybill_no)
    return list(await conn.execute(query.order_by(carrier_events.c.time.desc(), carrier_events.c.id.desc())))


# ---- poll state -----------------------------------------------------------------------------


async def start(conn: AsyncConnection, dispatch_id: str, waybill_no: str, *, now: datetime) -> None:
    stmt = _dialect(conn).insert(tracking).on_conflict_do_nothing(index_elements=["dispatch_id"])
    await conn.execute(
        stmt.values(
            dispatch_id=dispatch_id,
            waybill_no=waybill_no,
            active=True,
            started_at=now,
            next_poll_at=None,
            polls=0,
        )
    )


async def get(conn: AsyncConnection, waybill_no: str):
    return (await conn.execute(select(tracking).where(tracking.c.waybill_no == waybill_no))).first()


async def get_many(conn: AsyncConnection, waybill_nos: list[str]) -> dict:
    rows = await conn.execute(select(tracking).where(tracking.c.waybill_no.in_(waybill_nos)))
    return {r.waybill_no: r for r in rows}


async def save_progress(
    conn: AsyncConnection, dispatch_id: str, *, last_event_at, applied_at, active: bool | None = None
) -> None:
    values = {"last_event_at": last_event_at, "applied_at": applied_at}
    if active is not None:
        values["active"] = active
    await conn.execute(update(tracking).where(tracking.c.dispatch_id == dispatch_id).values(**values))


_PROGRESS = (
    update(tracking)
    .where(tracking.c.dispatch_id == bindparam("p_id"))
    .values(
        last_event_at=bindparam("p_last_event_at"),
        applied_at=bindparam("p_applied_at"),
        active=and_(tracking.c.active, bindparam("p_keep_active", type_=Boolean)),
    )
)


async def save_progress_many(conn: AsyncConnection, progress: list[dict]) -> None:
    """Several parcels' progress in one executemany: dicts of dispatch_id, last_event_at, applied_at
    and active (False stops following the parcel, None leaves it as it is)."""
    if progress:
        await conn.execute(
            _PROGRESS,
            [
                dict(
                    p_id=p["dispatch_id"],
                    p_last_event_at=p["last_event_at"],
                    p_applied_at=p["applied_at"],
                    p_keep_active=p["active"] is not False,
                )
                for p in progress
            ],
        )


async def stop(conn: AsyncConnection, dispatch_id: str) -> None:
    await conn.execute(
        update(tracking).where(tracking.c.dispatch_id == dispatch_id).values(active=False, next_poll_at=None)
    )


async def take_due(
    conn: AsyncConnection, *, now: datetime, limit: int, hold_s: float, first_poll_s: float
) -> list[str]:
    """Waybills due for a poll (never polled: `first_poll_s` after tracking started), pushed `hold_s`
    ahead so that a second sweep does not queue them again."""
    due = or_(
        tracking.c.next_poll_at <= now,
        and_(
            tracking.c.next_poll_at.is_(None), tracking.c.started_at <= now - timedelta(seconds=first_poll_s)
        ),
    )
    chosen = (
        select(tracking.c.dispatch_id)
        .where(tracking.c.active.is_(True), due)
        .order_by(tracking.c.next_poll_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True)
    held = (
        update(tracking)
        .where(tracking.c.dispatch_id.in_(chosen.scalar_subquery()))
        .values(next_poll_at=now + timedelta(seconds=hold_s))
        .returning(tracking.c.waybill_no)
    )
    return sorted(await conn.scalars(held))


async def polled(conn: AsyncConnection, dispatch_id: str, *, now: datetime, next_poll_at) -> None:
    await conn.execute(
        update(tracking)
        .where(tracking.c.dispatch_id == dispatch_id)
        .values(
            last_polled_at=now,
            polls=tracking.c.polls + 1,
            next_poll_at=next_poll_at,
            active=next_poll_at is not None,
        )
    )


_POLLED = (
    update(tracking)
    .where(tracking.c.dispatch_id == bindparam("p_id"))
    .values(
        last_event_at=bindparam("p_last_event_at"),
        applied_at=bindparam("p_applied_at"),
        last_polled_at=bindparam("p_now"),
        polls=tracking.c.polls + 1,
        next_poll_at=bindparam("p_next_poll_at"),
        active=bindparam("p_active", type_=Boolean),
    )
)


async def polled_many(conn: AsyncConnection, polls: list[dict], *, now: datetime) -> None:
    """After a poll, in one executemany: each parcel's progress (dispatch_id, last_event_at,
    applied_at) and its next poll (next_poll_at; None stops following it)."""
    if polls:
        await conn.execute(
            _POLLED,
            [
                dict(
                    p_id=p["dispatch_id"],
                    p_last_event_at=p["last_event_at"],
                    p_applied_at=p["applied_at"],
                    p_now=now,
                    p_next_poll_at=p["next_poll_at"],
                    p_active=p["next_poll_at"] is not None,
                )
                for p in polls
            ],
        )


async def statuses_by_waybill(conn: AsyncConnection, waybill_nos: list[str]) -> dict[str, str]:
    query = select(dispatches.c.waybill_no, dispatches.c.status).where(
        dispatches.c.waybill_no.in_(waybill_nos)
    )
    return {wb: status for wb, status in await conn.execute(query)}


async def dispatch_rows_by_waybill(conn: AsyncConnection, waybill_nos: list[str]) -> dict:
    rows = await conn.execute(select(dispatches).where(dispatches.c.waybill_no.in_(waybill_nos)))
    return {r.waybill_no: r for r in rows}


async def move_dispatches(
    conn: AsyncConnection, ids: list[str], *, from_status: str, to_status: str, at: datetime, **changes
) -> set[str]:
    """Compare-and-set several dispatches from one status to another in one statement; returns the ids
    that moved (a missing one was moved by someone else meanwhile)."""
    result = await conn.scalars(
        update(dispatches)
        .where(dispatches.c.id.in_(ids), dispatches.c.status == from_status)
        .values(status=to_status, updated_at=at, **changes)
        .returning(dispatches.c.id)
    )
    return set(result)


async def active_count(conn: AsyncConnection) -> int:
    return await conn.scalar(select(func.count()).where(tracking.c.active.is_(True))) or 0


async def quiet_parcels(conn: AsyncConnection, statuses: list[str], before: datetime) -> list:
    """Dispatches in `statuses` with no scan (or no move, before the first scan) since `before`."""
    last_seen = func.coalesce(tracking.c.last_event_at, dispatches.c.updated_at)
    query = (
        select(dispatches, last_seen.label("last_seen"))
        .select_from(dispatches.outerjoin(tracking, tracking.c.dispatch_id == dispatches.c.id))
        .where(dispatches.c.status.in_(statuses), last_seen < before)
        .order_by(last_seen)
    )
    return list(await conn.execute(query))


# ---- notices --------------------------------------------------------------------------------


async def add_notice(conn: AsyncConnection, **values) -> bool:
    stmt = _dialect(conn).insert(notices).on_conflict_do_nothing(index_elements=["dedupe_key"])
    return (await conn.execute(stmt.values(outcome="", **values))).rowcount == 1


async def get_notice(conn: AsyncConnection, notice_id: str):
    return (await conn.execute(select(notices).where(notices.c.id == notice_id))).first()


async def finish_notice(conn: AsyncConnection, notice_id: str, *, now: datetime, outcome: str) -> None:
    await conn.execute(
        update(notices).where(notices.c.id == notice_id).values(sent_at=now, outcome=outcome[:500])
    )


# ---- counters -------------------------------------------------------------------------------


async def count(conn: AsyncConnection, increments: dict[str, int]) -> None:
    rows = [{"name": name, "value": by} for name, by in sorted(increments.items()) if by]
    if rows:
        stmt = _dialect(conn).insert(counters)
        upsert = stmt.on_conflict_do_update(
            index_elements=["name"], set_={"value": counters.c.value + stmt.excluded.value}
        )
        await conn.execute(upsert, rows)


async def read_counters(conn: AsyncConnection) -> dict[str, int]:
    return {name: value for name, value in await conn.execute(select(counters.c.name, counters.c.value))}


# ---- citizen lookup -------------------------------------------------------------------------


_CITIZEN_SQL = {
    # One round trip: the newest matching dispatch and, as one JSON array, its scans.
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


async def find_for_citizen(
    conn: AsyncConnection, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
) -> CitizenRow | None:
    """What the citizen sees of the dispatch matching the number and the phone's last four digits
    (the newest, if several), with its scans newest first; else None.

    The busiest public read, so one statement in one round trip, sent on the driver's own connection
    (aiosqlite: one hop to its thread; asyncpg: one fetch) with the values decoded here: SQLAlchemy's
    statement building and result processing cost many times the query itself."""
    key, value = _key(waybill_no, case_no)
    driver = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "postgresql":
        row = await driver.fetchrow(_CITIZEN_SQL["postgresql"].format(key=key), value, phone_last4)
    else:
        rows = await driver.execute_fetchall(_CITIZEN_SQL["sqlite"].format(key=key), (value, phone_last4))
        row = rows[0] if rows else None
    return None if row is None else _citizen_row(tuple(row))


async def find_for_citizen_in(
    engine: AsyncEngine, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
) -> CitizenRow | None:
    """`find_for_citizen` on a connection of its own: on a SQLite file, read right here (see
    `SqliteReader`); otherwise, or when that reader meets a lock, on a pooled read-only connection."""
    reader = SqliteReader.of(engine)
    if reader is not None:
        key, value = _key(waybill_no, case_no)
        rows = reader.rows(_CITIZEN_SQL["sqlite"].format(key=key), (value, phone_last4))
        if rows is not None:
            return _citizen_row(rows[0]) if rows else None
    async with reading(engine) as conn:
        return await find_for_citizen(conn, phone_last4=phone_last4, waybill_no=waybill_no, case_no=case_no)


def _citizen_row(row: tuple) -> CitizenRow:
    status, waybill, case, payload, reason, created_at, updated_at, method, direction, events = row
    scans = pydantic_core.from_json(events) if events else []
    scans.sort(key=lambda s: (s[0], s[1]), reverse=True)  # SQLite's aggregate has no ORDER BY
    return CitizenRow(
        status, waybill, case, pydantic_core.from_json(payload), reason, _utc(created_at), _utc(updated_at),
        method, direction, [CitizenScan(_utc(t), st, desc, loc) for t, _, st, desc, loc in scans],
    )  # fmt: skip


class SqliteReader:
    """A plain sqlite3 connection for short reads, run on the event loop's own thread.

    With WAL, a reader never waits for the writer, and an indexed read of a few cached pages takes
    ~20 µs, far less than one hop to aiosqlite's thread and back (~130 µs of CPU, plus SQLAlchemy's
    checkout and reset). It never waits either: busy_timeout is 0 and a lock (a WAL reset in progress)
    returns None so the caller takes the pooled, asynchronous path. One per engine, closed when the
    engine is disposed."""

    _open: ClassVar[weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()  # sync Engine -> reader

    def __init__(self, path: str):
        self.path, self._conn = path, None

    @classmethod
    def of(cls, engine: AsyncEngine) -> SqliteReader | None:
        sync_engine = engine.sync_engine
        reader = cls._open.get(sync_engine)
        if reader is None:
            url = engine.url
            if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.query:
                return None
            reader = cls._open[sync_engine] = cls(url.database)
            event.listen(sync_engine, "engine_disposed", cls._forget)
        return reader

    @classmethod
    def _forget(cls, sync_engine) -> None:
        reader = cls._open.pop(sync_engine, None)
        if reader is not None:
            reader.close()

    def rows(self, sql: str, params: tuple) -> list | None:
        """The rows, or None when the database is locked right now."""
        try:
            if self._conn is None:
                conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA busy_timeout=0")
                conn.execute("PRAGMA query_only=1")
                self._conn = conn
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                return None
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
