"""What a durable job is to the use cases: the kinds, the job a handler is given, the outcomes it may
answer with, and the one backoff that spaces retries. `logistics.jobs` stores and runs them."""

from __future__ import annotations

from ..domain.backoff import backoff_s
from ..ports.repositories.jobs import Job

BOOK = "book"
CANCEL = "cancel"
POOL_REFILL = "pool_refill"
SYNC_OFFLINE = "sync_offline"
TRACK_POLL = "track_poll"
CALLBACK = "callback"
SMS = "sms"
PICKUP_CODE = "pickup_code"


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


__all__ = [
    "BOOK",
    "CALLBACK",
    "CANCEL",
    "COMPLETED",
    "PICKUP_CODE",
    "POOL_REFILL",
    "SMS",
    "SYNC_OFFLINE",
    "TRACK_POLL",
    "GiveUp",
    "Job",
    "RetryLater",
    "backoff_s",
]  # fmt: skip
