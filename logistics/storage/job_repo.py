"""The durable job queue as use cases see it: jobs are added in the transaction of the change that
causes them, staff look at and retry dead ones. Claiming and settling jobs is the worker's
(`logistics.jobs.queue`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.backoff import backoff_s
from ..ports.repositories.jobs import DEAD, DONE, PENDING, RUNNING, Job
from .tables import jobs

__all__ = ["DEAD", "DONE", "PENDING", "RUNNING", "SqlJobs", "insert_jobs", "jobs"]


def insert_jobs(
    dialect_name: str,
    new_jobs: list[tuple[str, dict, str | None]],
    *,
    now: datetime,
    max_attempts: int = 8,
    delay_s: float = 0.0,
) -> tuple:
    """(statement, rows) adding jobs; a job whose dedupe_key is taken by an unfinished one is skipped."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    run_after = now + timedelta(seconds=delay_s)
    fixed = dict(
        state=PENDING, attempts=0, max_attempts=max_attempts, run_after=run_after, lease_until=None,
        locked_by=None, last_error="", created_at=now, updated_at=now,
    )  # fmt: skip
    rows = [dict(fixed, kind=kind, payload=payload, dedupe_key=key) for kind, payload, key in new_jobs]
    return dialect.insert(jobs).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows


class SqlJobs:
    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def enqueue(
        self,
        kind: str,
        payload: dict,
        *,
        now: datetime,
        max_attempts: int = 8,
        dedupe_key: str | None = None,
        delay_s: float = 0.0,
    ) -> None:
        """Add a job. With a dedupe_key, an unfinished job with the same key is kept instead (a job
        releases its key when it finishes, so the same work can be asked for again later)."""
        await self.enqueue_many(
            [(kind, payload, dedupe_key)], now=now, max_attempts=max_attempts, delay_s=delay_s
        )

    async def enqueue_many(
        self,
        new_jobs: list[tuple[str, dict, str | None]],
        *,
        now: datetime,
        max_attempts: int = 8,
        delay_s: float = 0.0,
    ) -> None:
        """Add (kind, payload, dedupe_key) jobs in one statement."""
        if new_jobs:
            await self._conn.execute(
                *insert_jobs(
                    self._conn.dialect.name, new_jobs, now=now, max_attempts=max_attempts, delay_s=delay_s
                )
            )

    async def complete(self, job: Job, *, worker: str, now: datetime) -> bool:
        """Mark done; False if our lease was lost (another worker has the job now)."""
        result = await self._conn.execute(
            update(jobs)
            .where(jobs.c.id == job.id, jobs.c.locked_by == worker, jobs.c.state == RUNNING)
            .values(state=DONE, lease_until=None, dedupe_key=None, updated_at=now)
        )
        return result.rowcount == 1

    async def fail(
        self,
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
        await self._conn.execute(
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

    async def complete_many(self, job_ids: list[int], *, worker: str, now: datetime) -> set[int]:
        """Mark several jobs done in one statement; returns the ids whose lease we still held."""
        if not job_ids:
            return set()
        result = await self._conn.scalars(
            update(jobs)
            .where(jobs.c.id.in_(job_ids), jobs.c.locked_by == worker, jobs.c.state == RUNNING)
            .values(state=DONE, lease_until=None, dedupe_key=None, updated_at=now)
            .returning(jobs.c.id)
        )
        return set(result)

    async def retry_dead(self, job_id: int, *, now: datetime) -> bool:
        """Staff put a dead-lettered job back in the queue with a fresh set of attempts."""
        result = await self._conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.state == DEAD)
            .values(state=PENDING, attempts=0, run_after=now, updated_at=now)
        )
        return result.rowcount == 1

    async def list_jobs(self, state: str, limit: int = 200) -> list[dict]:
        rows = await self._conn.execute(
            select(jobs).where(jobs.c.state == state).order_by(jobs.c.updated_at.desc()).limit(limit)
        )
        return [dict(r._mapping) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self._conn.execute(select(jobs.c.state, func.count()).group_by(jobs.c.state))
        return {state: n for state, n in rows}
