"""Carrier events, per-parcel poll state, outbound notices and counters on disk."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..ports import TrackEvent
from .tables import dispatches
from .tracking_tables import carrier_events, counters, notices, tracking


def _dialect(conn: AsyncConnection):
    return postgresql if conn.dialect.name == "postgresql" else sqlite


# ---- carrier events -------------------------------------------------------------------------


async def insert_events(
    conn: AsyncConnection, events: list[TrackEvent], *, source: str, now: datetime
) -> int:
    """Store scans not seen before (same waybill, code and time); returns how many were new."""
    if not events:
        return 0
    rows = [
        dict(
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
        for e in events
    ]
    stmt = (
        _dialect(conn)
        .insert(carrier_events)
        .on_conflict_do_nothing(index_elements=["waybill_no", "raw_code", "time"])
    )
    new = 0
    for row in rows:  # one by one: rowcount of a multi-row insert with ON CONFLICT is not portable
        new += (await conn.execute(stmt.values(**row))).rowcount
    return new


async def pending_events(conn: AsyncConnection, waybill_no: str, since: datetime | None) -> list:
    """Stored scans not applied yet and not older than the newest applied one, oldest first."""
    query = select(carrier_events).where(
        carrier_events.c.waybill_no == waybill_no, carrier_events.c.applied.is_(False)
    )
    if since is not None:
        query = query.where(carrier_events.c.time >= since)
    return list(await conn.execute(query.order_by(carrier_events.c.time, carrier_events.c.id)))


async def mark_applied(conn: AsyncConnection, event_ids: list[int]) -> None:
    if event_ids:
        await conn.execute(
            update(carrier_events).where(carrier_events.c.id.in_(event_ids)).values(applied=True)
        )


async def events_for(conn: AsyncConnection, waybill_no: str) -> list:
    """Every stored scan of a parcel, newest first."""
    query = select(carrier_events).where(carrier_events.c.waybill_no == waybill_no)
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
    query = (
        select(tracking.c.dispatch_id, tracking.c.waybill_no)
        .where(tracking.c.active.is_(True), due)
        .order_by(tracking.c.next_poll_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await conn.execute(query))
    if rows:
        await conn.execute(
            update(tracking)
            .where(tracking.c.dispatch_id.in_([r.dispatch_id for r in rows]))
            .values(next_poll_at=now + timedelta(seconds=hold_s))
        )
    return [r.waybill_no for r in rows]


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


async def statuses_by_waybill(conn: AsyncConnection, waybill_nos: list[str]) -> dict[str, str]:
    query = select(dispatches.c.waybill_no, dispatches.c.status).where(
        dispatches.c.waybill_no.in_(waybill_nos)
    )
    return {wb: status for wb, status in await conn.execute(query)}


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
    for name, by in increments.items():
        if not by:
            continue
        stmt = _dialect(conn).insert(counters).values(name=name, value=by)
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["name"], set_={"value": counters.c.value + by})
        )


async def read_counters(conn: AsyncConnection) -> dict[str, int]:
    return {name: value for name, value in await conn.execute(select(counters.c.name, counters.c.value))}


# ---- citizen lookup -------------------------------------------------------------------------


async def find_for_citizen(
    conn: AsyncConnection, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
):
    """The dispatch matching the number and the phone's last four digits, newest first; else None."""
    key = dispatches.c.waybill_no == waybill_no if waybill_no else dispatches.c.case_no == case_no
    query = (
        select(dispatches)
        .where(and_(key, dispatches.c.phone_last4 == phone_last4))
        .order_by(dispatches.c.created_at.desc())
        .limit(1)
    )
    return (await conn.execute(query)).first()
