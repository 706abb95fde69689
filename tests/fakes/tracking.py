"""`ports.repositories.tracking.TrackingRecords` in memory: carrier scans (deduplicated on waybill, code
and time), poll state, notices (once per dedupe key), counters and the citizen's read."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta

from logistics.domain.masking import phone_last4 as phone_last4_of
from logistics.domain.model import Dispatch
from logistics.domain.status import Status
from logistics.ports import TrackEvent
from logistics.ports.repositories.tracking import (
    CitizenCase,
    CitizenRow,
    CitizenScan,
    CitizenStage,
    Notice,
    PollState,
    StoredScan,
)

from .base import FakeRepository
from .dispatches import payload_of, set_columns
from .store import IntegrityError, Tables, copied

_SCAN_FIELDS = ("id", "waybill_no", "time", "raw_code", "status", "description", "location", "reason")


def _scan(row: dict) -> StoredScan:
    return StoredScan(*(row[name] for name in _SCAN_FIELDS))


def _oldest_first(rows) -> list[dict]:
    return sorted(rows, key=lambda row: (row["time"], row["id"]))


class FakeScans(FakeRepository):
    async def insert_events(self, events: list[TrackEvent], *, source: str, now: datetime) -> int:
        return sum((await self.store_events(events, source=source, now=now)).values())

    async def store_events(self, events: list[TrackEvent], *, source: str, now: datetime) -> Counter[str]:
        t, new = self._write, Counter()
        seen = {(row["waybill_no"], row["raw_code"], row["time"]) for row in t.carrier_events.values()}
        for e in events:
            key = (e.waybill_no, e.raw_code, e.time)
            if key in seen:
                continue
            seen.add(key)
            event_id = t.next_id("carrier_events")
            t.carrier_events[event_id] = dict(
                id=event_id, waybill_no=e.waybill_no, time=e.time, raw_code=e.raw_code, status=e.status.value,
                description=e.description, location=e.location, reason=e.reason, extra=copied(e.extra),
                source=source, applied=False, received_at=now,
            )  # fmt: skip
            new[e.waybill_no] += 1
        return new

    async def pending_events_many(self, waybill_nos: list[str]) -> dict[str, list[StoredScan]]:
        wanted = set(waybill_nos)
        rows = [
            r for r in self._read.carrier_events.values() if r["waybill_no"] in wanted and not r["applied"]
        ]
        found: dict[str, list[StoredScan]] = {}
        for row in sorted(_oldest_first(rows), key=lambda row: row["waybill_no"]):
            found.setdefault(row["waybill_no"], []).append(_scan(row))
        return found

    async def mark_applied(self, event_ids: list[int]) -> None:
        t = self._write
        for event_id in event_ids:
            if event_id in t.carrier_events:
                t.carrier_events[event_id]["applied"] = True

    async def events_for(self, waybill_no: str) -> list[StoredScan]:
        t = self._read
        if self._uow.hall is not None and not any(
            row["dispatch"].waybill_no == waybill_no for row in t.dispatches.values()
        ):
            return []  # scans of another hall's parcel
        rows = [r for r in t.carrier_events.values() if r["waybill_no"] == waybill_no]
        return [_scan(row) for row in reversed(_oldest_first(rows))]

    async def dispatches_by_waybill(self, waybill_nos: list[str]) -> dict[str, Dispatch]:
        wanted = set(waybill_nos)
        return {
            row["dispatch"].waybill_no: copied(row["dispatch"])
            for row in self._read.dispatches.values()
            if row["dispatch"].waybill_no in wanted
        }

    async def move_dispatches(
        self, ids: list[str], *, from_status: str, to_status: str, at: datetime, **changes
    ) -> set[str]:
        t, moved = self._write, set()
        for dispatch_id in ids:
            row = t.dispatches.get(dispatch_id)
            if row is not None and row["dispatch"].status.value == from_status:
                set_columns(t, dispatch_id, status=Status(to_status), updated_at=at, **changes)
                moved.add(dispatch_id)
        return moved


def _start(t: Tables, dispatch_id: str, waybill_no: str, now: datetime) -> None:
    if dispatch_id in t.tracking:
        return  # ON CONFLICT (dispatch_id) DO NOTHING
    if any(row["waybill_no"] == waybill_no for row in t.tracking.values()):
        raise IntegrityError(f"tracking.waybill_no {waybill_no!r} is taken")
    t.tracking[dispatch_id] = dict(
        dispatch_id=dispatch_id, waybill_no=waybill_no, active=True, started_at=now, last_event_at=None,
        applied_at=None, next_poll_at=None, last_polled_at=None, polls=0,
    )  # fmt: skip


class FakePollStates(FakeRepository):
    async def start(self, dispatch_id: str, waybill_no: str, *, now: datetime) -> None:
        _start(self._write, dispatch_id, waybill_no, now)

    async def start_many(self, starts: list[tuple[str, str]], *, now: datetime) -> None:
        t = self._write
        for dispatch_id, waybill_no in starts:
            _start(t, dispatch_id, waybill_no, now)

    async def get(self, waybill_no: str) -> PollState | None:
        for row in self._read.tracking.values():
            if row["waybill_no"] == waybill_no:
                return PollState(**row)
        return None

    async def get_many(self, waybill_nos: list[str]) -> dict[str, PollState]:
        wanted = set(waybill_nos)
        return {
            r["waybill_no"]: PollState(**r) for r in self._read.tracking.values() if r["waybill_no"] in wanted
        }

    async def save_progress_many(self, progress: list[dict]) -> None:
        t = self._write
        for p in progress:
            row = t.tracking.get(p["dispatch_id"])
            if row is not None:
                row.update(last_event_at=p["last_event_at"], applied_at=p["applied_at"],
                           active=row["active"] and p["active"] is not False)  # fmt: skip

    async def stop(self, dispatch_id: str) -> None:
        row = self._write.tracking.get(dispatch_id)
        if row is not None:
            row.update(active=False, next_poll_at=None)

    async def take_due(self, *, now: datetime, limit: int, hold_s: float, first_poll_s: float) -> list[str]:
        """Never-polled parcels first, as SQLite orders NULLs (PostgreSQL puts them last)."""
        first_poll_before = now - timedelta(seconds=first_poll_s)
        due = [
            row for row in self._write.tracking.values()
            if row["active"] and (
                (row["next_poll_at"] is not None and row["next_poll_at"] <= now)
                or (row["next_poll_at"] is None and row["started_at"] <= first_poll_before)
            )
        ]  # fmt: skip
        due.sort(key=lambda row: (row["next_poll_at"] is not None, row["next_poll_at"] or now))
        for row in due[:limit]:
            row["next_poll_at"] = now + timedelta(seconds=hold_s)
        return sorted(row["waybill_no"] for row in due[:limit])

    async def polled_many(self, polls: list[dict], *, now: datetime) -> None:
        t = self._write
        for p in polls:
            row = t.tracking.get(p["dispatch_id"])
            if row is not None:
                row.update(
                    last_event_at=p["last_event_at"], applied_at=p["applied_at"], last_polled_at=now,
                    polls=row["polls"] + 1, next_poll_at=p["next_poll_at"],
                    active=p["next_poll_at"] is not None,
                )  # fmt: skip

    async def active_count(self) -> int:
        return sum(1 for row in self._read.tracking.values() if row["active"])

    async def quiet_parcels(self, statuses: list[str], before: datetime) -> list[tuple[Dispatch, datetime]]:
        t, found = self._read, []
        for row in t.dispatches.values():
            d = row["dispatch"]
            state = t.tracking.get(d.id)
            last_seen = (state and state["last_event_at"]) or d.updated_at
            if d.status.value in statuses and last_seen < before:
                found.append((copied(d), last_seen))
        return sorted(found, key=lambda found: found[1])


class FakeNotices(FakeRepository):
    def _add(self, t: Tables, notice: Notice) -> bool:
        if any(row["dedupe_key"] == notice.dedupe_key for row in t.notices.values()):
            return False  # ON CONFLICT (dedupe_key) DO NOTHING
        if notice.id in t.notices:
            raise IntegrityError(f"notices.id {notice.id!r} is taken")
        t.notices[notice.id] = asdict(notice)
        return True

    async def add_notice(self, notice: Notice) -> bool:
        return self._add(self._write, notice)

    async def add_notices(self, notices: list[Notice]) -> set[str]:
        t = self._write
        return {notice.id for notice in notices if self._add(t, notice)}

    async def get_notice(self, notice_id: str) -> Notice | None:
        row = self._read.notices.get(notice_id)
        return Notice(**row) if row else None

    async def notices_for(self, dispatch_ids: list[str], *, kind: str) -> list[Notice]:
        rows = [r for r in self._read.notices.values() if r["dispatch_id"] in dispatch_ids]
        ours = sorted((r for r in rows if r["kind"] == kind), key=lambda r: (r["created_at"], r["id"]))
        return [Notice(**r) for r in ours]

    async def finish_notice(self, notice_id: str, *, now: datetime, outcome: str) -> None:
        row = self._write.notices.get(notice_id)
        if row is not None:
            row.update(sent_at=now, outcome=outcome[:500])

    async def count(self, increments: dict[str, int]) -> None:
        t = self._write
        for name, by in increments.items():
            if by:
                t.counters[name] = t.counters.get(name, 0) + by

    async def read_counters(self) -> dict[str, int]:
        return dict(self._read.counters)


def _stages(t, client_id: str, case_no: str) -> tuple[CitizenStage, ...]:
    ours = sorted((row for key, row in t.case_events.items() if key[:2] == (client_id, case_no)),
                  key=lambda row: (row[1].at, row[0]))  # fmt: skip
    return tuple(CitizenStage(e.at, e.stage.value, e.note, e.matter_name) for _, e in ours)


def _citizen_row(t, d) -> CitizenRow:
    scans = [r for r in t.carrier_events.values() if d.waybill_no and r["waybill_no"] == d.waybill_no]
    moves = [e["event"] for e in t.dispatch_events if e["dispatch_id"] == d.id]
    pickup = ("awaiting_pickup", "picked_up")
    steps = [CitizenScan(e.at, e.to_status.value, "", "") for e in moves
             if e.to_status is not None and e.to_status.value in pickup]  # fmt: skip
    return CitizenRow(
        d.status.value, d.waybill_no, d.case_no, payload_of(d), d.reason,
        d.created_at, d.updated_at, d.delivery_method.value, d.direction.value,
        [CitizenScan(r["time"], r["status"], r["description"], r["location"])
         for r in reversed(_oldest_first(scans))],
        d.client_id, tuple(steps), _stages(t, d.client_id, d.case_no),
    )  # fmt: skip


class FakeCitizenReads(FakeRepository):
    async def find_for_citizen(
        self, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
    ) -> CitizenRow | None:
        t = self._read
        key, value = ("waybill_no", waybill_no) if waybill_no else ("case_no", case_no)
        matching = [
            row for row in t.dispatches.values()
            if getattr(row["dispatch"], key) == value and row["phone_last4"] == phone_last4
        ]  # fmt: skip
        if not matching:
            return None
        d = max(matching, key=lambda row: row["dispatch"].created_at)["dispatch"]
        return _citizen_row(t, d)

    async def find_case_for_citizen(self, *, phone_last4: str, case_no: str) -> CitizenCase | None:
        t = self._read
        rows = [r for r in t.dispatches.values() if r["dispatch"].case_no == case_no]
        staged = [row for key, row in t.case_events.items() if key[1] == case_no]
        clients = {r["dispatch"].client_id for r in rows if r["phone_last4"] == phone_last4}
        clients |= {e.client_id for _, e in staged if phone_last4_of(e.applicant_phone) == phone_last4}
        parcels = [r["dispatch"] for r in rows if r["dispatch"].client_id in clients]
        if parcels:
            client = max(parcels, key=lambda d: d.created_at).client_id
            ours = [d for d in parcels if d.client_id == client]
            found = sorted(ours, key=lambda d: d.created_at, reverse=True)
            return CitizenCase([_citizen_row(t, d) for d in found], list(_stages(t, client, case_no)))
        moved = [row for row in staged if row[1].client_id in clients]
        if not moved:
            return None
        client = max(moved, key=lambda row: (row[1].at, row[0]))[1].client_id
        return CitizenCase([], list(_stages(t, client, case_no)))


class FakeTrackingRecords(FakeScans, FakePollStates, FakeNotices, FakeCitizenReads):
    """The tracking repository of a fake unit of work."""


class FakeCitizenLookup:
    """`ports.repositories.tracking.CitizenLookup` outside any unit of work: each call reads in a
    read-only unit of its own."""

    def __init__(self, new_uow):
        self._new_uow = new_uow

    async def find_for_citizen(
        self, *, phone_last4: str, waybill_no: str | None = None, case_no: str | None = None
    ) -> CitizenRow | None:
        async with self._new_uow(read_only=True) as uow:
            return await uow.tracking.find_for_citizen(
                phone_last4=phone_last4, waybill_no=waybill_no, case_no=case_no
            )

    async def find_case_for_citizen(self, *, phone_last4: str, case_no: str) -> CitizenCase | None:
        async with self._new_uow(read_only=True) as uow:
            return await uow.tracking.find_case_for_citizen(phone_last4=phone_last4, case_no=case_no)
