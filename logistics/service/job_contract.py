"""What a durable job is to the use cases: the kinds, the job a handler is given, the outcomes it may
answer with, and the one backoff that spaces retries. `logistics.jobs` stores and runs them."""

from __future__ import annotations

import random
from dataclasses import dataclass

BOOK = "book"
CANCEL = "cancel"
POOL_REFILL = "pool_refill"
SYNC_OFFLINE = "sync_offline"
TRACK_POLL = "track_poll"
CALLBACK = "callback"
SMS = "sms"


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict
    attempts: int
    max_attempts: int
    last_error: str


COMPLETED = object()
"""A batch handler's outcome for a job it completed itself, in the transaction that recorded its result."""


class RetryLater(Exception):
    """Transient failure: try again after `retry_after_s` (or the backoff). `code` names the reason in
    the logs; `keep_attempt` gives the attempt back (a wait, not a failure: the job never dies of it)."""

    def __init__(
        self, message: str, retry_after_s: float | None = None, *, code: str = "", keep_attempt: bool = False
    ):
        super().__init__(message)
        self.retry_after_s, self.code, self.keep_attempt = retry_after_s, code, keep_attempt


class GiveUp(Exception):
    """Permanent failure: dead-letter the job now, for staff to look at."""

    def __init__(self, message: str, *, code: str = ""):
        super().__init__(message)
        self.code = code


def backoff_s(attempts: int, *, base: float = 2.0, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter on the upper half, so retries do not arrive in waves."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return ceiling / 2 + random.random() * ceiling / 2
