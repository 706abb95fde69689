"""The console's rows: sessions, login failures, its audit log and pickup codes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..ports.repositories.console import Attempt
from .console_tables import console_audit, console_sessions, login_failures, pickup_codes
from .dispatch_repo import to_domain
from .tables import UTCDateTime, dispatches

# ---- sessions -----------------------------------------------------------------------------------


async def add_session(
    conn: AsyncConnection, *, id_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        insert(console_sessions).values(
            id_hash=id_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


async def get_session(conn: AsyncConnection, id_hash: str):
    return (await conn.execute(select(console_sessions).where(console_sessions.c.id_hash == id_hash))).first()


async def touch_session(conn: AsyncConnection, id_hash: str, *, now: datetime, expires_at: datetime) -> None:
    await conn.execute(
        update(console_sessions)
        .where(console_sessions.c.id_hash == id_hash)
        .values(last_seen_at=now, expires_at=expires_at)
    )


async def drop_session(conn: AsyncConnection, id_hash: str) -> None:
    await conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash))


async def drop_sessions_of(conn: AsyncConnection, user_id: int) -> None:
    await conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))


async def drop_expired(conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))


# ---- login failures -----------------------------------------------------------------------------


async def failures_of(conn: AsyncConnection, name: str):
    return (await conn.execute(select(login_failures).where(login_failures.c.name == name))).first()


async def reserve_login_attempt(
    conn: AsyncConnection, name: str, *, now: datetime, limit: int, window: timedelta
) -> Attempt | None:
    """Count one more attempt at `name` before its password is checked, in one conditional UPDATE:
    None when `name` is locked (its `limit` attempts are used, checked or still being checked).
    Failures older than `window`, and an expired lock-out, are forgotten. The attempt that reaches the
    limit locks the name at once, so no parallel attempt gets past it while this one is checked."""
    insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    await conn.execute(
        insert_(login_failures)
        .values(name=name, failures=0, first_failed_at=now, locked_until=None)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    t, at = login_failures.c, literal(now, UTCDateTime())
    stale = or_(
        and_(t.locked_until.is_not(None), t.locked_until <= now),
        and_(t.locked_until.is_(None), t.first_failed_at < now - window),
    )
    number = case((stale, 1), else_=t.failures + 1)
    result = await conn.execute(
        update(login_failures)
        .where(t.name == name, or_(stale, and_(t.failures < limit, t.locked_until.is_(None))))
        .values(
            failures=number,
            first_failed_at=case((stale, at), else_=t.first_failed_at),
            locked_until=case((number >= limit, literal(now + window, UTCDateTime())), else_=None),
        )
        .returning(t.failures, t.locked_until)
    )
    row = result.first()
    return Attempt(row.failures, row.locked_until) if row else None


async def clear_failures(conn: AsyncConnection, name: str) -> None:
    await conn.execute(delete(login_failures).where(login_failures.c.name == name))


# ---- audit --------------------------------------------------------------------------------------


async def audit(
    conn: AsyncConnection, *, at: datetime, actor: str, action: str, subject: str, **detail
) -> None:
    await conn.execute(
        insert(console_audit).values(at=at, actor=actor, action=action, subject=subject, detail=detail)
    )


async def audit_log(conn: AsyncConnection, *, limit: int = 100, action_prefix: str | None = None) -> list:
    query = select(console_audit).order_by(console_audit.c.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(console_audit.c.action.startswith(action_prefix))
    return list(await conn.execute(query))


# ---- pickup codes -------------------------------------------------------------------------------


async def put_pickup_code(
    conn: AsyncConnection, dispatch_id: str, *, code_hash: str, now: datetime, expires_at: datetime, by: str
) -> None:
    """A new code for the dispatch, replacing any earlier one."""
    await conn.execute(delete(pickup_codes).where(pickup_codes.c.dispatch_id == dispatch_id))
    await conn.execute(
        insert(pickup_codes).values(
            dispatch_id=dispatch_id,
            code_hash=code_hash,
            created_at=now,
            expires_at=expires_at,
            attempts=0,
            used_at=None,
            created_by=by,
        )
    )


async def pickup_code(conn: AsyncConnection, dispatch_id: str):
    return (await conn.execute(select(pickup_codes).where(pickup_codes.c.dispatch_id == dispatch_id))).first()


async def pickup_codes_for(conn: AsyncConnection, dispatch_ids: list[str]) -> dict:
    if not dispatch_ids:
        return {}
    rows = await conn.execute(select(pickup_codes).where(pickup_codes.c.dispatch_id.in_(dispatch_ids)))
    return {r.dispatch_id: r for r in rows}


async def reserve_pickup_attempt(
    conn: AsyncConnection, dispatch_id: str, *, now: datetime, max_attempts: int
) -> str | None:
    """Count one more try at the dispatch's code before it is checked, in one conditional UPDATE: the
    code's hash, or None when there is no usable code (none, used, expired or out of tries)."""
    t = pickup_codes.c
    result = await conn.execute(
        update(pickup_codes)
        .where(
            t.dispatch_id == dispatch_id, t.used_at.is_(None), t.expires_at > now, t.attempts < max_attempts
        )
        .values(attempts=t.attempts + 1)
        .returning(t.code_hash)
    )
    return result.scalar()


async def use_pickup_code(conn: AsyncConnection, dispatch_id: str, *, code_hash: str, now: datetime) -> bool:
    """Mark the code that was checked used, once: False when it was used or replaced meanwhile."""
    result = await conn.execute(
        update(pickup_codes)
        .where(
            pickup_codes.c.dispatch_id == dispatch_id,
            pickup_codes.c.code_hash == code_hash,
            pickup_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return result.rowcount == 1


# ---- the dispatch list --------------------------------------------------------------------------


async def search_dispatches(
    conn: AsyncConnection, *, statuses: list[str] | None, q: str = "", limit: int = 100, offset: int = 0
) -> tuple[list, int]:
    """Dispatches by status and a search on case number, waybill number or recipient name, newest first."""
    query = select(dispatches)
    if statuses:
        query = query.where(dispatches.c.status.in_(statuses))
    q = q.strip()
    if q:
        name = dispatches.c.payload["recipient"]["name"].as_string()
        query = query.where(
            or_(
                dispatches.c.case_no.contains(q, autoescape=True),
                dispatches.c.waybill_no.contains(q, autoescape=True),
                name.contains(q, autoescape=True),
            )
        )
    total = await conn.scalar(select(func.count()).select_from(query.subquery()))
    rows = await conn.execute(query.order_by(dispatches.c.updated_at.desc()).limit(limit).offset(offset))
    return [to_domain(r) for r in rows], total or 0


async def count_by_status(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(dispatches.c.status, func.count()).group_by(dispatches.c.status))
    return dict(rows.all())
