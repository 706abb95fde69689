"""The live gateway instances and the carrier pace they share (tables `instances`, `carrier_pace`).

Each instance heartbeats its row; one whose heartbeat is older than the dead limit is dead, and the jobs it
had claimed are handed back (`reap_dead`). Times are the instances' own clocks (kept in step by NTP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .job_repo import PENDING, RUNNING
from .tables import carrier_pace, instances, jobs


@dataclass(frozen=True)
class LiveInstance:
    id: str
    demand: int


@dataclass(frozen=True)
class SharedPace:
    rate_per_s: float | None
    resume_at: datetime | None


def _insert(conn: AsyncConnection, table):
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


async def heartbeat(
    conn: AsyncConnection,
    instance_id: str,
    *,
    host: str,
    pid: int,
    started_at: datetime,
    now: datetime,
    demand: int,
) -> None:
    """Our row, fresh (added again if a peer took us for dead and removed it)."""
    stmt = _insert(conn, instances).values(
        id=instance_id, host=host[:255], pid=pid, started_at=started_at, heartbeat_at=now, demand=demand
    )
    await conn.execute(
        stmt.on_conflict_do_update(index_elements=["id"], set_={"heartbeat_at": now, "demand": demand})
    )


async def live(conn: AsyncConnection, *, now: datetime, dead_after_s: float) -> list[LiveInstance]:
    since = now - timedelta(seconds=dead_after_s)
    rows = await conn.execute(
        select(instances.c.id, instances.c.demand)
        .where(instances.c.heartbeat_at >= since)
        .order_by(instances.c.id)
    )
    return [LiveInstance(i, d) for i, d in rows]


async def release_jobs(
    conn: AsyncConnection, workers: list[str], *, now: datetime, give_back_attempt: bool
) -> int:
    """The running jobs claimed by `workers`, due again at once. A job released unstarted (a graceful stop)
    gets its attempt back; after a crash the attempt counts (the job may have reached the carrier: its
    dispatch is in `booking`, so the next run looks the order up first)."""
    if not workers:
        return 0
    values = dict(state=PENDING, run_after=now, lease_until=None, locked_by=None, updated_at=now)
    if give_back_attempt:
        values["attempts"] = (
            func.greatest(jobs.c.attempts - 1, 0)
            if conn.dialect.name == "postgresql"
            else (func.max(jobs.c.attempts - 1, 0))
        )
    result = await conn.execute(
        update(jobs).where(jobs.c.locked_by.in_(workers), jobs.c.state == RUNNING).values(**values)
    )
    return result.rowcount


async def reap_dead(conn: AsyncConnection, *, now: datetime, dead_after_s: float) -> tuple[list[str], int]:
    """Forget the instances whose heartbeat is older than `dead_after_s` and hand back their jobs."""
    since = now - timedelta(seconds=dead_after_s)
    query = select(instances.c.id).where(instances.c.heartbeat_at < since)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    dead = list(await conn.scalars(query))
    if not dead:
        return [], 0
    released = await release_jobs(conn, dead, now=now, give_back_attempt=False)
    await conn.execute(delete(instances).where(instances.c.id.in_(dead), instances.c.heartbeat_at < since))
    return dead, released


async def deregister(conn: AsyncConnection, instance_id: str) -> None:
    await conn.execute(delete(instances).where(instances.c.id == instance_id))


# ---- the carrier pace learned from 429s, and its Retry-After, shared by every instance -----------------


async def read_pace(conn: AsyncConnection, carrier: str) -> SharedPace:
    row = (
        await conn.execute(
            select(carrier_pace.c.rate_per_s, carrier_pace.c.resume_at).where(
                carrier_pace.c.carrier == carrier
            )
        )
    ).first()
    return SharedPace(*row) if row else SharedPace(None, None)


async def _ensure_pace(conn: AsyncConnection, carrier: str, now: datetime) -> None:
    stmt = _insert(conn, carrier_pace).values(carrier=carrier, rate_per_s=None, updated_at=now)
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=["carrier"]))


async def cut_pace(
    conn: AsyncConnection, carrier: str, rate_per_s: float, *, now: datetime, round_s: float
) -> None:
    """Set the learned rate to `rate_per_s`, unless another instance cut it in the last `round_s` (the
    throttles of one burst cut once, however many instances saw them)."""
    await _ensure_pace(conn, carrier, now)
    since = now - timedelta(seconds=round_s)
    await conn.execute(
        update(carrier_pace)
        .where(
            carrier_pace.c.carrier == carrier,
            or_(
                carrier_pace.c.rate_per_s.is_(None),
                carrier_pace.c.cut_at.is_(None),
                carrier_pace.c.cut_at < since,
            ),
        )
        .values(rate_per_s=rate_per_s, cut_at=now, updated_at=now)
    )


async def raise_pace(conn: AsyncConnection, carrier: str, by: float, *, now: datetime) -> None:
    """The additive increase of the accepted calls: `by` req/s more (once a rate has been learned)."""
    await conn.execute(
        update(carrier_pace)
        .where(carrier_pace.c.carrier == carrier, carrier_pace.c.rate_per_s.is_not(None))
        .values(rate_per_s=carrier_pace.c.rate_per_s + by, updated_at=now)
    )


async def pause_until(conn: AsyncConnection, carrier: str, until: datetime, *, now: datetime) -> None:
    """No instance calls the carrier before `until` (its Retry-After)."""
    await _ensure_pace(conn, carrier, now)
    await conn.execute(
        update(carrier_pace)
        .where(
            carrier_pace.c.carrier == carrier,
            or_(carrier_pace.c.resume_at.is_(None), carrier_pace.c.resume_at < until),
        )
        .values(resume_at=until, updated_at=now)
    )
