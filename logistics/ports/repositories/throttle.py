"""Failed citizen lookups counted per address, waybill and case number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

Bucket = tuple[str, str]  # (kind, key)


@dataclass(frozen=True)
class Window:
    kind: str
    key: str
    failures: int
    ends_at: datetime


class CitizenFailures(Protocol):
    async def windows(self, buckets: list[Bucket]) -> list[Window]:
        """The stored windows of these buckets (expired ones included). A read only: on a SQLite file, on
        the loop's thread (see `SqliteReader`), else on a pooled read-only connection."""
        ...

    async def count_failure(self, windows_s: dict[Bucket, float], *, now: datetime) -> dict[Bucket, Window]:
        """One more failure in each bucket (given with its window length), in one statement: a bucket whose
        window has ended starts a new one at `now`. Returns each bucket's window after the count."""
        ...

    async def forget_ended(self, *, now: datetime) -> int:
        """Drop the windows that have ended (they count nothing any more)."""
        ...
