"""Carrier scans, poll state, notices and counters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..carrier import TrackEvent


@dataclass(frozen=True)
class CitizenScan:
    time: datetime
    status: str
    description: str
    location: str


@dataclass(frozen=True)
class CitizenRow:
    status: str
    waybill_no: str | None
    case_no: str
    payload: dict
    reason: str
    created_at: datetime
    updated_at: datetime | None
    delivery_method: str
    direction: str
    scans: list[CitizenScan]


class TrackingRecords(Protocol):
    async def insert_events(self, events: list[TrackEvent], *, source: str, now: datetime) -> int:
        """Store scans not seen before (same waybill, code and time); returns how many were new."""
        ...

    async def store_events(self, events: list[TrackEvent], *, source: str, now: datetime) -> Counter[str]:
        """Store scans not seen before (same waybill, code and time) in one multi-row statement;
        returns how many were new per waybill (RETURNING names only the rows really inserted)."""
        ...

    async def pending_events(self, waybill_no: str, since: datetime | None) -> list:
        """Stored scans not applied yet and not older than the newest applied one, oldest first."""
        ...

    async def pending_events_many(self, waybill_nos: list[str]) -> dict[str, list]:
        """Stored scans not applied yet of several parcels, oldest first per parcel."""
        ...

    async def mark_applied(self, event_ids: list[int]) -> None: ...

    async def events_for(self, waybill_no: str) -> list:
        """Every stored scan of a parcel (time, raw code, status, description, location), newest first."""
        ...

    async def start(self, dispatch_id: str, waybill_no: str, *, now: datetime) -> None: ...

    async def get(self, waybill_no: str): ...

    async def get_many(self, waybill_nos: list[str]) -> dict: ...

    async def save_progress(
        self, dispatch_id: str, *, last_event_at, applied_at, active: bool | None = None
    ) -> None: ...

    async def save_progress_many(self, progress: list[dict]) -> None:
        """Several parcels' progress in one executemany: dicts of dispatch_id, last_event_at, applied_at
        and active (False stops following the parcel, None leaves it as it is)."""
        ...

    async def stop(self, dispatch_id: str) -> None: ...

    async def take_due(self, *, now: datetime, limit: int, hold_s: float, first_poll_s: float) -> list[str]:
        """Waybills due for a poll (never polled: `first_poll_s` after tracking started), pushed `hold_s`
        ahead so that a second sweep does not queue them again."""
        ...

    async def polled(self, dispatch_id: str, *, now: datetime, next_poll_at) -> None: ...

    async def polled_many(self, polls: list[dict], *, now: datetime) -> None:
        """After a poll, in one executemany: each parcel's progress (dispatch_id, last_event_at,
        applied_at) and its next poll (next_poll_at; None stops following it)."""
        ...

    async def statuses_by_waybill(self, waybill_nos: list[str]) -> dict[str, str]: ...

    async def dispatch_rows_by_waybill(self, waybill_nos: list[str]) -> dict: ...

    async def move_dispatches(
        self, ids: list[str], *, from_status: str, to_status: str, at: datetime, **changes
    ) -> set[str]:
        """Compare-and-set several dispatches from one status to another in one statement; returns the ids
        that moved (a missing one was moved by someone else meanwhile)."""
        ...

    async def active_count(self) -> int: ...

    async def quiet_parcels(self, statuses: list[str], before: datetime) -> list:
        """Dispatches in `statuses` with no scan (or no move, before the first scan) since `before`."""
        ...

    async def add_notice(self, **values) -> bool: ...

    async def get_notice(self, notice_id: str): ...

    async def finish_notice(self, notice_id: str, *, now: datetime, outcome: str) -> None: ...

    async def count(self, increments: dict[str, int]) -> None: ...

    async def read_counters(self) -> dict[str, int]: ...

    async def find_for_citizen(
        self, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
    ) -> CitizenRow | None: ...

    async def find_for_citizen_in(
        self, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
    ) -> CitizenRow | None:
        """`find_for_citizen` on a connection of its own: on a SQLite file, read right here (see
        `SqliteReader`); otherwise, or when that reader meets a lock, on a pooled read-only connection."""
        ...
