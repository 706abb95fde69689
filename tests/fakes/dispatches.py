"""`ports.repositories.dispatches.Dispatches` in memory: dispatches and their audit trail."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import replace
from enum import Enum

from logistics.domain.masking import phone_last4
from logistics.domain.model import AuditEvent, Dispatch
from logistics.service.views import dispatch_json

from .base import FakeRepository
from .jobs import insert_jobs
from .store import IntegrityError, Tables, copied

CaseRow = namedtuple("CaseRow", "request_hash response")
UNIQUE_COLUMNS = ("waybill_no", "order_no")
# The fields SQL keeps in the payload column, which `save_contact` rewrites whole.
PAYLOAD_FIELDS = (
    "matter_name", "matter_code", "department_name", "recipient", "address", "items", "weight_g",
    "declared_value_fen", "completed_at", "village_point_code",
)  # fmt: skip


def payload_of(d: Dispatch) -> dict:
    """What SQL keeps in a dispatch's payload column (JSON values)."""
    as_json = dispatch_json(d)
    return {name: as_json[name] for name in PAYLOAD_FIELDS}


def column(row: dict, name: str):
    """A dispatch row's column, as SQL stores it (enums as their values)."""
    if name in ("request_hash", "phone_last4"):
        return row[name]
    value = getattr(row["dispatch"], name)
    return value.value if isinstance(value, Enum) else value


def check_unique(t: Tables, d: Dispatch) -> None:
    for other in t.dispatches.values():
        theirs = other["dispatch"]
        if theirs.id == d.id:
            continue
        for name in UNIQUE_COLUMNS:
            value = getattr(d, name)
            if value is not None and getattr(theirs, name) == value:
                raise IntegrityError(f"dispatches.{name} {value!r} is taken")


def set_columns(t: Tables, dispatch_id: str, **values) -> None:
    """An UPDATE of some columns of one dispatch row."""
    row = t.dispatches[dispatch_id]
    changed = replace(row["dispatch"], **values)
    check_unique(t, changed)
    row["dispatch"] = changed


def add_events(t: Tables, events: list[tuple[str, AuditEvent]]) -> None:
    for dispatch_id, event in events:
        t.dispatch_events.append({"dispatch_id": dispatch_id, "event": copied(event)})


def sorted_newest_first(rows: list[dict], key: str) -> list[Dispatch]:
    return [r["dispatch"] for r in sorted(rows, key=lambda r: getattr(r["dispatch"], key), reverse=True)]


def case_key(d: Dispatch) -> tuple[str, str, str]:
    return d.client_id, d.case_no, d.direction.value


def insert(t: Tables, d: Dispatch, request_hash: str, response: dict) -> bool:
    """INSERT ... ON CONFLICT (client_id, case_no, direction) DO NOTHING; True when the row went in."""
    if any(case_key(r["dispatch"]) == case_key(d) for r in t.dispatches.values()):
        return False
    if d.id in t.dispatches:
        raise IntegrityError(f"dispatches.id {d.id!r} is taken")
    check_unique(t, d)
    t.dispatches[d.id] = {
        "dispatch": replace(d, updated_at=d.created_at),
        "request_hash": request_hash,
        "response": copied(response),
        "phone_last4": phone_last4(d.recipient.phone),
    }
    return True


class FakeDispatches(FakeRepository):
    async def stored_cases(self, keys: set[tuple]) -> dict[tuple, tuple[str, dict]]:
        found = {}
        for row in self._read.dispatches.values():
            key = case_key(row["dispatch"])
            if key in keys:
                found[key] = (row["request_hash"], copied(row["response"]))
        return found

    async def insert_cases(self, cases: list) -> set[str]:
        """Each `NewCase` with its audit events and booking job, unless its case is stored already."""
        t = self._write
        inserted = {c.dispatch.id for c in cases if insert(t, c.dispatch, c.request_hash, c.response)}
        add_events(t, [(c.dispatch.id, e) for c in cases if c.dispatch.id in inserted for e in c.events])
        for c in cases:
            if c.dispatch.id in inserted and c.job is not None:
                insert_jobs(t, [c.job], now=c.now, max_attempts=c.max_attempts, delay_s=0.0)
        return inserted

    async def insert_new(self, d: Dispatch, *, request_hash: str, response: dict) -> bool:
        """Keeps `d` itself (SQL rebuilds it from its row, which is made from `d` and `response`)."""
        return insert(self._write, d, request_hash, response)

    async def find_by_case(self, client_id: str, case_no: str, direction: str = "outbound"):
        for row in self._read.dispatches.values():
            if case_key(row["dispatch"]) == (client_id, case_no, direction):
                return CaseRow(row["request_hash"], copied(row["response"]))
        return None

    async def of_case(self, client_id: str, case_no: str) -> list[Dispatch]:
        found = [
            r["dispatch"]
            for r in self._read.dispatches.values()
            if (r["dispatch"].client_id, r["dispatch"].case_no) == (client_id, case_no)
        ]
        return [copied(d) for d in sorted(found, key=lambda d: (d.created_at, d.id))]

    async def get(self, dispatch_id: str) -> Dispatch | None:
        row = self._read.dispatches.get(dispatch_id)
        return copied(row["dispatch"]) if row else None

    async def get_many(self, ids: list[str]) -> list[Dispatch]:
        t = self._read
        return [copied(t.dispatches[i]["dispatch"]) for i in dict.fromkeys(ids) if i in t.dispatches]

    async def find(self, **where) -> Dispatch | None:
        for row in self._read.dispatches.values():
            if all(column(row, name) == value for name, value in where.items()):
                return copied(row["dispatch"])
        return None

    async def save_move(self, before: Dispatch, after: Dispatch, event: AuditEvent) -> bool:
        t = self._write
        row = t.dispatches.get(before.id)
        if row is None or row["dispatch"].status != before.status:
            return False
        set_columns(t, before.id, status=after.status, waybill_no=after.waybill_no, reason=after.reason,
                    updated_at=after.updated_at)  # fmt: skip
        add_events(t, [(before.id, event)])
        return True

    async def save_moves(self, moves: list[tuple[Dispatch, Dispatch, AuditEvent]]) -> set[str]:
        """As the SQL one: a compare-and-set per (from, to, time) group, in the order groups first appear."""
        t = self._write
        groups: dict[tuple, list[tuple[Dispatch, Dispatch]]] = {}
        for before, after, _ in moves:
            groups.setdefault((before.status, after.status, after.updated_at), []).append((before, after))
        moved: set[str] = set()
        for (from_status, to_status, at), pairs in groups.items():
            for before, after in pairs:
                row = t.dispatches.get(before.id)
                if row is not None and row["dispatch"].status == from_status:
                    set_columns(t, before.id, status=to_status, waybill_no=after.waybill_no,
                                reason=after.reason, updated_at=at)  # fmt: skip
                    moved.add(before.id)
        add_events(t, [(before.id, event) for before, _, event in moves if before.id in moved])
        return moved

    async def save_contact(self, d: Dispatch) -> None:
        t = self._write
        if d.id in t.dispatches:
            payload = {name: getattr(d, name) for name in PAYLOAD_FIELDS}
            set_columns(t, d.id, **payload, updated_at=d.updated_at)
            t.dispatches[d.id]["phone_last4"] = phone_last4(d.recipient.phone)

    async def add_event(self, dispatch_id: str, event: AuditEvent) -> None:
        add_events(self._write, [(dispatch_id, event)])

    async def add_events(self, events: list[tuple[str, AuditEvent]]) -> None:
        add_events(self._write, events)

    async def events(self, dispatch_id: str) -> list[AuditEvent]:
        return [copied(e["event"]) for e in self._read.dispatch_events if e["dispatch_id"] == dispatch_id]

    async def search(
        self, *, status: str | None = None, q: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[Dispatch], int]:
        rows = list(self._read.dispatches.values())
        if status:
            rows = [r for r in rows if r["dispatch"].status.value in status.split(",")]
        if q:
            rows = [
                r for r in rows if q in (r["dispatch"].case_no, r["dispatch"].waybill_no, r["dispatch"].id)
            ]
        found = sorted_newest_first(rows, "created_at")
        return [copied(d) for d in found[offset : offset + limit]], len(rows)
