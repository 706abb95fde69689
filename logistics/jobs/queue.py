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

from ..service.job_contract import Job, backoff_s
from ..storage.job_repo import DEAD, DONE, PENDING, RUNNING, SqlJobs, insert_jobs, jobs

__all__ = [
    "DEAD", "DONE", "PENDING", "RUNNING", "claim", "complete", "complete_many", "enqueue", "enqueue_many",
    "fail", "insert_jobs", "jobs",
]  # fmt: skip


async def enqueue(conn: AsyncConnection, kind: str, payload: dict, **kw) -> None:
    """Transitional, for use cases not yet on `uow.jobs`: `SqlJobs.enqueue` on `conn`."""
    await SqlJobs(conn).enqueue(kind, payload, **kw)


async def enqueue_many(conn: AsyncConnection, new_jobs: list[tuple[str, dict, str | None]], **kw) -> None:
    """Transitional, for use cases not yet on `uow.jobs`: `SqlJobs.enqueue_many` on `conn`."""
    await SqlJobs(conn).enqueue_many(new_jobs, **kw)


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


async def complete(conn: AsyncConnection, job: Job, *, worker: str, now: datetime) -> bool:
    """Mark done; False if our lease was lost (another worker has the job now)."""
    result = await conn.execute(
        update(jobs)
        .where(jobs.c.id == job.id, jobs.c.locked_by == worker, jobs.c.state == RUNNING)
        .values(state=DONE, lease_until=None, dedupe_key=None, updated_at=now)
    )
    return result.rowcount == 1


async def complete_many(conn: AsyncConnection, job_ids: list[int], *, worker: str, now: datetime) -> set[int]:
    """Mark several jobs done in one statement; returns the ids whose lease we still held."""
    return await SqlJobs(conn).complete_many(job_ids, worker=worker, now=now)


async def fail(
    conn: AsyncConnection,
    job: Job,
    error: str,
    *,
    worker: str,
    now: datetime,
    retry_after_s: float | None = None,
    permanent: bool = False,
    keep_attempt: bool = False,
) -> str:
    """Schedule a retry, or dead-letter the job when attempts are used up. Returns the new state.
    With `keep_attempt` (the job waited for something outside it, e.g. an open carrier circuit) the
    attempt is given back: the job is retried whatever its count."""
    dead = permanent or (job.attempts >= job.max_attempts and not keep_attempt)
    delay = retry_after_s if retry_after_s is not None else backoff_s(job.attempts)
    state = DEAD if dead else PENDING
    released = {"dedupe_key": None} if dead else {}
    if keep_attempt and not dead:
        released["attempts"] = jobs.c.attempts - 1
    await conn.execute(
        update(jobs)
        .where(jobs.c.id == job.id, jobs.c.locked_by == worker, jobs.c.state == RUNNING)
        .values(
            **released,
            state=state,
            run_after=now + timedelta(seconds=delay),
            lease_until=None,
            last_error=error[:2000],
            updated_at=now,
        )
    )
    return state
