"""The durable job queue (outbox), as the worker runs it.

A job is inserted (`storage.job_repo.SqlJobs.enqueue`, as `uow.jobs`) in the same transaction as the
state change that causes it. Workers claim due jobs with a lease; a crashed worker's lease runs out and the
job is claimed again, so handlers must be idempotent (carrier calls carry our order number).
On PostgreSQL claims use FOR UPDATE SKIP LOCKED; SQLite has no row locks and serializes writers, so
a conditional UPDATE is enough."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..service.job_contract import Job
from ..storage.job_repo import DEAD, DONE, PENDING, RUNNING, SqlJobs, insert_jobs, jobs

__all__ = [
    "DEAD", "DONE", "PENDING", "RUNNING", "claim", "complete_many",
    "insert_jobs", "jobs",
]  # fmt: skip


def _claimable(now: datetime, kinds: list[str]):
    due = or_(
        and_(jobs.c.state == PENDING, jobs.c.run_after <= now),
        and_(jobs.c.state == RUNNING, jobs.c.lease_until < now),  # a crashed worker's job
    )
    return and_(due, jobs.c.kind.in_(kinds))


async def claim(
    conn: AsyncConnection,
    *,
    worker: str,
    now: datetime,
    lease_s: float,
    kinds: list[str],
    limit: int = 1,
) -> list[Job]:
    """Lease up to `limit` due jobs of the given kinds (this process has handlers for them)."""
    query = select(jobs.c.id).where(_claimable(now, kinds)).order_by(jobs.c.run_after, jobs.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(await conn.scalars(query))
    if not ids:
        return []
    rows = await conn.execute(
        update(jobs)
        .where(jobs.c.id.in_(ids), _claimable(now, kinds))
        .values(
            state=RUNNING,
            attempts=jobs.c.attempts + 1,
            lease_until=now + timedelta(seconds=lease_s),
            locked_by=worker,
            updated_at=now,
        )
        .returning(
            jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.attempts, jobs.c.max_attempts, jobs.c.last_error
        )
    )
    return [Job(*row) for row in rows]


async def complete_many(conn: AsyncConnection, job_ids: list[int], *, worker: str, now: datetime) -> set[int]:
    """Mark several jobs done in one statement; returns the ids whose lease we still held."""
    return await SqlJobs(conn).complete_many(job_ids, worker=worker, now=now)
