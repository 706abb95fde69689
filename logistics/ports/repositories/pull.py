"""Where pull intake has read up to, and the items it skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CursorState:
    client_id: str
    cursor: str | None
    last_ok_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_attempt_at: datetime | None
    pulled: int
    rejected: int


@dataclass(frozen=True, slots=True)
class Reject:
    after: str | None
    position: int
    case_no: str | None
    reason: str
    errors: list[dict]
    at: datetime


class PullCursors(Protocol):
    async def ensure(self, client_id: str) -> None:
        """The client's cursor row, created at the start (cursor None) if it is not there yet."""
        ...

    async def state(self, client_id: str) -> CursorState | None: ...

    async def advance(
        self, client_id: str, *, after: str | None, to: str | None, now: datetime, pulled: int, rejected: int
    ) -> bool:
        """Move the cursor from `after` to `to` (compare-and-set) and record a success. False when the cursor
        is no longer at `after` (another instance took the page): the caller rolls back."""
        ...

    async def failed(self, client_id: str, *, error: str, now: datetime, retry_at: datetime) -> None: ...

    async def add_rejects(self, client_id: str, rejects: list[Reject]) -> None: ...

    async def recent_rejects(self, client_id: str, *, limit: int = 50) -> list[Reject]: ...

    async def reject_count(self, client_id: str) -> int: ...
