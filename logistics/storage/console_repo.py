"""The console's rows: sessions, login failures, its audit log and pickup codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .console_tables import console_audit, console_sessions, login_failures, pickup_codes
from .dispatch_repo import to_domain
from .tables import dispatches

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


async def save_failures(
    conn: AsyncConnection,
    name: str,
    *,
    failures: int,
    first_failed_at: datetime,
    locked_until: datetime | None,
) -> None:
    values = dict(failures=failures, first_failed_at=first_failed_at, locked_until=locked_until)
    updated = await conn.execute(update(login_failures).where(login_failures.c.name == name).values(**values))
    if updated.rowcount == 0:
        await conn.execute(insert(login_failures).values(name=name, **values))


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


async def count_pickup_attempt(conn: AsyncConnection, dispatch_id: str) -> None:
    await conn.execute(
        update(pickup_codes)
        .where(pickup_codes.c.dispatch_id == dispatch_id)
        .values(attempts=pickup_codes.c.attempts + 1)
    )


async def use_pickup_code(conn: AsyncConnection, dispatch_id: str, *, now: datetime) -> bool:
    """Mark the code used, once: False when someone else used it first."""
    result = await conn.execute(
        update(pickup_codes)
        .where(pickup_codes.c.dispatch_id == dispatch_id, pickup_codes.c.used_at.is_(None))
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
