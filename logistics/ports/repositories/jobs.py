"""The durable job queue (outbox) as use cases see it: a job is added in the transaction of the change
that causes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"  # a job's states


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict
    attempts: int
    max_attempts: int
    last_error: str


class Jobs(Protocol):
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
        ...

    async def enqueue_many(
        self,
        new_jobs: list[tuple[str, dict, str | None]],
        *,
        now: datetime,
        max_attempts: int = 8,
        delay_s: float = 0.0,
    ) -> None:
        """Add (kind, payload, dedupe_key) jobs in one statement."""
        ...

    async def complete_many(self, job_ids: list[int], *, worker: str, now: datetime) -> set[int]:
        """Mark several claimed jobs done (a batch handler recording their results); returns the ids whose
        lease `worker` still held."""
        ...

    async def complete(self, job: Job, *, worker: str, now: datetime) -> bool:
        """Mark done; False if the worker's lease was lost (another worker has the job now)."""
        ...

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
        """Schedule a retry, or dead-letter the job when attempts are used up; the new state."""
        ...

    async def retry_dead(self, job_id: int, *, now: datetime) -> bool:
        """Staff put a dead-lettered job back in the queue with a fresh set of attempts."""
        ...

    async def list_jobs(self, state: str, limit: int = 200) -> list[dict]: ...

    async def counts(self) -> dict[str, int]: ...
