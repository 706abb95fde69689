"""Carrier scans, poll state, notices and counters, and the citizen's read of one parcel."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ...domain.model import Dispatch
from ..carrier import TrackEvent


@dataclass(frozen=True)
class StoredScan:
    """A carrier scan as stored (`applied`: it moved or confirmed its dispatch's status)."""

    id: int
    waybill_no: str
    time: datetime
    raw_code: str
    status: str
    description: str
    location: str
    reason: str


@dataclass(frozen=True)
class PollState:
    """How one followed parcel is polled: `applied_at` is its newest scan that moved or confirmed the
    status, `next_poll_at` None when no poll is planned."""

    dispatch_id: str
    waybill_no: str
    active: bool
    started_at: datetime
    last_event_at: datetime | None
    applied_at: datetime | None
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    polls: int


@dataclass(frozen=True)
class Notice:
    """An SMS or a callback set off by one move; `dedupe_key` makes it once per move."""

    id: str
    channel: str
    kind: str
    dispatch_id: str
    dedupe_key: str
    event_time: datetime
    created_at: datetime
    sent_at: datetime | None = None
    outcome: str = ""


@dataclass(frozen=True)
class CitizenScan:
    time: datetime
    status: str
    description: str
    location: str


@dataclass(frozen=True)
class CitizenStage:
    """A stage of the case (办件进度) as the citizen sees it."""

    time: datetime
    stage: str
    note: str
    matter_name: str


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
    client_id: str = ""
    steps: tuple[CitizenScan, ...] = ()
    """Its moves to awaiting_pickup and picked_up (at the hall's counter or a village point), oldest first."""
    stages: tuple[CitizenStage, ...] = ()
    """Its case's stages, oldest first."""


@dataclass(frozen=True)
class CitizenCase:
    """What the citizen sees of one case of one client: its parcels (one per direction, the newest
    first) and its stages (oldest first); either may be empty, not both."""

    parcels: list[CitizenRow]
    stages: list[CitizenStage]


class Scans(Protocol):
    async def insert_events(self, events: list[TrackEvent], *, source: str, now: datetime) -> int:
        """Store scans not seen before (same waybill, code and time); returns how many were new."""
        ...

    async def store_events(self, events: list[TrackEvent], *, source: str, now: datetime) -> Counter[str]:
        """Store scans not seen before (same waybill, code and time) in one multi-row statement;
        returns how many were new per waybill."""
        ...

    async def pending_events_many(self, waybill_nos: list[str]) -> dict[str, list[StoredScan]]:
        """Stored scans not applied yet of several parcels, oldest first per parcel."""
        ...

    async def mark_applied(self, event_ids: list[int]) -> None: ...

    async def events_for(self, waybill_no: str) -> list[StoredScan]:
        """Every stored scan of a parcel, newest first."""
        ...

    async def dispatches_by_waybill(self, waybill_nos: list[str]) -> dict[str, Dispatch]:
        """The dispatches holding these waybill numbers (the others are not ours, or not yet)."""
        ...

    async def move_dispatches(
        self, ids: list[str], *, from_status: str, to_status: str, at: datetime, **changes
    ) -> set[str]:
        """Compare-and-set several dispatches from one status to another in one statement; returns the ids
        that moved (a missing one was moved by someone else meanwhile)."""
        ...


class PollStates(Protocol):
    async def start(self, dispatch_id: str, waybill_no: str, *, now: datetime) -> None:
        """Follow a parcel from now on (kept as it is if it is followed already)."""
        ...

    async def start_many(self, starts: list[tuple[str, str]], *, now: datetime) -> None:
        """`start` for several (dispatch_id, waybill_no) in one statement."""
        ...

    async def get(self, waybill_no: str) -> PollState | None: ...

    async def get_many(self, waybill_nos: list[str]) -> dict[str, PollState]: ...

    async def save_progress_many(self, progress: list[dict]) -> None:
        """Several parcels' progress in one statement: dicts of dispatch_id, last_event_at, applied_at
        and active (False stops following the parcel, None leaves it as it is)."""
        ...

    async def stop(self, dispatch_id: str) -> None: ...

    async def take_due(self, *, now: datetime, limit: int, hold_s: float, first_poll_s: float) -> list[str]:
        """Waybills due for a poll (never polled: `first_poll_s` after tracking started), pushed `hold_s`
        ahead so that a second sweep does not queue them again."""
        ...

    async def polled_many(self, polls: list[dict], *, now: datetime) -> None:
        """After a poll, in one statement: each parcel's progress (dispatch_id, last_event_at,
        applied_at) and its next poll (next_poll_at; None stops following it)."""
        ...

    async def active_count(self) -> int: ...

    async def quiet_parcels(self, statuses: list[str], before: datetime) -> list[tuple[Dispatch, datetime]]:
        """Dispatches in `statuses` with no scan (or no move, before the first scan) since `before`, each
        with when it was last seen, the longest quiet first."""
        ...


class Notices(Protocol):
    async def add_notice(self, notice: Notice) -> bool:
        """Store a notice unless one with its dedupe key exists; True when this call stored it."""
        ...

    async def add_notices(self, notices: list[Notice]) -> set[str]:
        """`add_notice` for several in one statement; returns the ids of those stored."""
        ...

    async def get_notice(self, notice_id: str) -> Notice | None: ...

    async def notices_for(self, dispatch_ids: list[str], *, kind: str) -> list[Notice]:
        """The notices of `kind` of these dispatches, the oldest first."""
        ...

    async def finish_notice(self, notice_id: str, *, now: datetime, outcome: str) -> None: ...

    async def count(self, increments: dict[str, int]) -> None:
        """Add to named counters (created at their first use)."""
        ...

    async def read_counters(self) -> dict[str, int]: ...


class CitizenReads(Protocol):
    async def find_for_citizen(
        self, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
    ) -> CitizenRow | None:
        """What the citizen sees of the dispatch matching the number and the phone's last four digits
        (the newest, if several), with its scans newest first; else None."""
        ...

    async def find_case_for_citizen(self, *, phone_last4: str, case_no: str) -> CitizenCase | None:
        """One case by its number, when the phone's last four digits are those of one of its parcels'
        recipients or of its applicant (its stages): every parcel of that case and its stages; else
        None. Cases of several clients sharing the number: the one with the newest parcel, else stage."""
        ...


class TrackingRecords(Scans, PollStates, Notices, CitizenReads, Protocol):
    """The tracking repository of a unit of work."""


class CitizenLookup(CitizenReads, Protocol):
    """`find_for_citizen` outside any unit of work, for the busiest public read: each call reads on a
    connection of its own (on a SQLite file, right on the event loop's thread)."""
