"""`ports.repositories.jobs.Jobs` in memory: the outbox a use case adds jobs to.

Rows have the SQL table's columns. A dedupe key is unique among unfinished jobs: the queue clears it
when a job is done or dead (`finish`, for tests that play the worker)."""

from __future__ import annotations

from datetime import datetime, timedelta

from logistics.domain.backoff import backoff_s
from logistics.ports.repositories.jobs import Job

from .base import FakeRepository
from .store import Tables, copied

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"


def insert_jobs(
    t: Tables,
    new_jobs: list[tuple[str, dict, str | None]],
    *,
    now: datetime,
    max_attempts: int,
    delay_s: float,
) -> None:
    taken = {row["dedupe_key"] for row in t.jobs.values() if row["dedupe_key"] is not None}
    for kind, payload, key in new_jobs:
        if key is not None and key in taken:
            continue  # ON CONFLICT (dedupe_key) DO NOTHING
        if key is not None:
            taken.add(key)
        job_id = t.next_id("jobs")
        t.jobs[job_id] = dict(
            id=job_id, kind=kind, payload=copied(payload), dedupe_key=key, state=PENDING, attempts=0,
            max_attempts=max_attempts, run_after=now + timedelta(seconds=delay_s), lease_until=None,
            locked_by=None, last_error="", created_at=now, updated_at=now,
        )  # fmt: skip


class FakeJobs(FakeRepository):
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
        insert_jobs(self._write, [(kind, payload, dedupe_key)], now=now, max_attempts=max_attempts,
                    delay_s=delay_s)  # fmt: skip

    async def enqueue_many(
        self,
        new_jobs: list[tuple[str, dict, str | None]],
        *,
        now: datetime,
        max_attempts: int = 8,
        delay_s: float = 0.0,
    ) -> None:
        insert_jobs(self._write, new_jobs, now=now, max_attempts=max_attempts, delay_s=delay_s)

    async def retry_dead(self, job_id: int, *, now: datetime) -> bool:
        row = self._write.jobs.get(job_id)
        if row is None or row["state"] != DEAD:
            return False
        row.update(state=PENDING, attempts=0, run_after=now, updated_at=now)
        return True

    async def list_jobs(self, state: str, limit: int = 200) -> list[dict]:
        rows = [row for row in self._read.jobs.values() if row["state"] == state]
        rows.sort(key=lambda row: row["updated_at"], reverse=True)
        return copied(rows[:limit])

    async def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self._read.jobs.values():
            found[row["state"]] = found.get(row["state"], 0) + 1
        return found

    async def complete_many(self, job_ids: list[int], *, worker: str, now: datetime) -> set[int]:
        """Mark several jobs done; returns the ids whose lease `worker` still held."""
        t, done = self._write, set()
        for job_id in job_ids:
            row = t.jobs.get(job_id)
            if row and row["locked_by"] == worker and row["state"] == RUNNING:
                row.update(state=DONE, lease_until=None, dedupe_key=None, updated_at=now)
                done.add(job_id)
        return done

    async def complete(self, job: Job, *, worker: str, now: datetime) -> bool:
        """Mark done; False if `worker` no longer holds the job's lease."""
        return job.id in await self.complete_many([job.id], worker=worker, now=now)

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
        """Retry later, or dead-letter once attempts are used up (kept attempts never count)."""
        dead = permanent or (job.attempts >= job.max_attempts and not keep_attempt)
        delay = retry_after_s if retry_after_s is not None else backoff_s(job.attempts)
        state = DEAD if dead else PENDING
        row = self._write.jobs.get(job.id)
        if row is None or row["locked_by"] != worker or row["state"] != RUNNING:
            return state
        if dead:
            row["dedupe_key"] = None
        elif keep_attempt:
            row["attempts"] -= 1
        row.update(state=state, run_after=now + timedelta(seconds=delay), lease_until=None,
                   last_error=error[:2000], updated_at=now)  # fmt: skip
        return state
