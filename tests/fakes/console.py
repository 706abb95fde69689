"""`ports.repositories.console.ConsoleRecords` in memory: sessions, sign-in attempts, the staff audit
log, pickup codes and the console's dispatch list. Rows are named tuples with the SQL tables' columns."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from datetime import datetime, timedelta

from logistics.domain.model import DeliveryMethod, Dispatch
from logistics.ports.repositories.console import Attempt
from logistics.storage.dispatch_codec import recipient_key

from .base import FakeRepository
from .dispatches import payload_of, sorted_newest_first
from .store import IntegrityError, copied

SessionRow = namedtuple("SessionRow", "id_hash user_id csrf_token created_at last_seen_at expires_at")
FailuresRow = namedtuple("FailuresRow", "name failures first_failed_at locked_until")
AuditRow = namedtuple("AuditRow", "id at actor action subject detail")
PickupSlipRow = namedtuple("PickupSlipRow", "dispatch_id reason queued_at printed_at printed_by")
PickupCodeRow = namedtuple(
    "PickupCodeRow", "dispatch_id code_hash created_at expires_at attempts used_at created_by"
)


class FakeConsoleRecords(FakeRepository):
    # ---- sessions ------------------------------------------------------------------------------

    async def add_session(
        self, *, id_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime
    ) -> None:
        t = self._write
        if id_hash in t.console_sessions:
            raise IntegrityError("console_sessions.id_hash is taken")
        t.console_sessions[id_hash] = dict(
            id_hash=id_hash, user_id=user_id, csrf_token=csrf_token, created_at=now, last_seen_at=now,
            expires_at=expires_at,
        )  # fmt: skip

    async def get_session(self, id_hash: str):
        row = self._read.console_sessions.get(id_hash)
        return SessionRow(**row) if row else None

    async def touch_session(self, id_hash: str, *, now: datetime, expires_at: datetime) -> None:
        row = self._write.console_sessions.get(id_hash)
        if row:
            row.update(last_seen_at=now, expires_at=expires_at)

    async def drop_session(self, id_hash: str) -> None:
        self._write.console_sessions.pop(id_hash, None)

    async def drop_sessions_of(self, user_id: int) -> None:
        t = self._write
        t.console_sessions = {k: r for k, r in t.console_sessions.items() if r["user_id"] != user_id}

    async def drop_expired(self, now: datetime) -> None:
        t = self._write
        t.console_sessions = {k: r for k, r in t.console_sessions.items() if not r["expires_at"] < now}

    # ---- sign-in attempts ----------------------------------------------------------------------

    async def failures_of(self, name: str):
        row = self._read.login_failures.get(name)
        return FailuresRow(**row) if row else None

    async def reserve_login_attempt(
        self, name: str, *, now: datetime, limit: int, window: timedelta
    ) -> Attempt | None:
        t = self._write
        row = t.login_failures.setdefault(
            name, dict(name=name, failures=0, first_failed_at=now, locked_until=None)
        )
        locked_until = row["locked_until"]
        stale = (locked_until is not None and locked_until <= now) or (
            locked_until is None and row["first_failed_at"] < now - window
        )
        if not (stale or (row["failures"] < limit and locked_until is None)):
            return None
        number = 1 if stale else row["failures"] + 1
        row.update(
            failures=number,
            first_failed_at=now if stale else row["first_failed_at"],
            locked_until=now + window if number >= limit else None,
        )
        return Attempt(number, row["locked_until"])

    async def clear_failures(self, name: str) -> None:
        self._write.login_failures.pop(name, None)

    # ---- the staff audit log -------------------------------------------------------------------

    async def audit(self, *, at: datetime, actor: str, action: str, subject: str, **detail) -> None:
        t = self._write
        t.console_audit.append(dict(id=t.next_id("console_audit"), at=at, actor=actor, action=action,
                                    subject=subject, detail=copied(detail)))  # fmt: skip

    async def audit_log(self, *, limit: int = 100, action_prefix: str | None = None) -> list:
        rows = [r for r in reversed(self._read.console_audit)
                if not action_prefix or r["action"].startswith(action_prefix)]  # fmt: skip
        return [AuditRow(**copied(r)) for r in rows[:limit]]

    # ---- pickup codes --------------------------------------------------------------------------

    async def put_pickup_code(
        self, dispatch_id: str, *, code_hash: str, now: datetime, expires_at: datetime, by: str
    ) -> None:
        self._write.pickup_codes[dispatch_id] = dict(
            dispatch_id=dispatch_id, code_hash=code_hash, created_at=now, expires_at=expires_at, attempts=0,
            used_at=None, created_by=by,
        )  # fmt: skip

    async def expire_pickup_code(self, dispatch_id: str, *, now: datetime) -> None:
        t = self._write
        if self._uow.hall is not None and dispatch_id not in t.dispatches:
            raise PermissionError("a scoped unit of work may not write another hall's rows")
        row = t.pickup_codes.get(dispatch_id)
        if row and row["used_at"] is None and row["expires_at"] > now:
            row["expires_at"] = now

    async def pickup_code(self, dispatch_id: str):
        row = self._read.pickup_codes.get(dispatch_id)
        return PickupCodeRow(**row) if row else None

    async def pickup_codes_for(self, dispatch_ids: list[str]) -> dict:
        t = self._read
        return {i: PickupCodeRow(**t.pickup_codes[i]) for i in dispatch_ids if i in t.pickup_codes}

    async def queue_pickup_slip(self, dispatch_id: str, *, reason: str, now: datetime) -> None:
        self._write.pickup_slips[dispatch_id] = dict(
            dispatch_id=dispatch_id, reason=reason[:500], queued_at=now, printed_at=None, printed_by=None
        )

    async def slip_printed(self, dispatch_id: str, *, now: datetime, by: str) -> None:
        row = self._write.pickup_slips.setdefault(
            dispatch_id, dict(dispatch_id=dispatch_id, reason="工作人员打印", queued_at=now)
        )
        row.update(printed_at=now, printed_by=by)

    async def clear_pickup_slip(self, dispatch_id: str) -> None:
        self._write.pickup_slips.pop(dispatch_id, None)

    async def pickup_slips_for(self, dispatch_ids: list[str]) -> dict:
        t = self._read
        return {i: PickupSlipRow(**t.pickup_slips[i]) for i in dispatch_ids if i in t.pickup_slips}

    async def reserve_pickup_attempt(
        self, dispatch_id: str, *, now: datetime, max_attempts: int
    ) -> str | None:
        row = self._write.pickup_codes.get(dispatch_id)
        if row is None or row["used_at"] is not None or not row["expires_at"] > now:
            return None
        if row["attempts"] >= max_attempts:
            return None
        row["attempts"] += 1
        return row["code_hash"]

    async def use_pickup_code(self, dispatch_id: str, *, code_hash: str, now: datetime) -> bool:
        row = self._write.pickup_codes.get(dispatch_id)
        if row is None or row["code_hash"] != code_hash or row["used_at"] is not None:
            return False
        row["used_at"] = now
        return True

    # ---- the dispatch list ---------------------------------------------------------------------

    async def search_dispatches(
        self, *, statuses: list[str] | None, q: str = "", limit: int = 100, offset: int = 0,
        hall: str | None = None,
    ) -> tuple[list, int]:  # fmt: skip
        """Whole numbers; the full name as `recipient_key` compares it."""
        rows = list(self._read.dispatches.values())
        if hall:
            rows = [r for r in rows if r["dispatch"].hall == hall]
        if statuses:
            rows = [r for r in rows if r["dispatch"].status.value in statuses]
        q = q.strip()
        if q:
            rows = [
                r for r in rows
                if q in (r["dispatch"].case_no, r["dispatch"].waybill_no)
                or recipient_key(q) == recipient_key(r["dispatch"].recipient.name)
            ]  # fmt: skip
        found = sorted_newest_first(rows, "updated_at")
        return [copied(d) for d in found[offset : offset + limit]], len(rows)

    async def count_by_status(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self._read.dispatches.values():
            status = row["dispatch"].status.value
            found[status] = found.get(status, 0) + 1
        return found

    async def village_point_dispatches(self) -> list[Dispatch]:
        rows = [r for r in self._read.dispatches.values()
                if r["dispatch"].delivery_method is DeliveryMethod.VILLAGE_POINT]  # fmt: skip
        return [copied(r["dispatch"]) for r in sorted(rows, key=lambda r: r["dispatch"].created_at)]

    # ---- the dashboard -------------------------------------------------------------------------

    async def received_since(self, since: datetime) -> int:
        return sum(1 for r in self._read.dispatches.values() if r["dispatch"].created_at >= since)

    def _changes(self):
        """Audit events that changed a status (SQL: from_status != to_status, never true for NULL)."""
        for row in self._read.dispatch_events:
            e = row["event"]
            if e.from_status is not None and e.to_status is not None and e.from_status != e.to_status:
                yield row["dispatch_id"], e

    async def moves_since(self, since: datetime, statuses: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for _, e in self._changes():
            if e.at >= since and e.to_status.value in statuses:
                found[e.to_status.value] = found.get(e.to_status.value, 0) + 1
        return found

    async def first_moves_to(self, status: str, since: datetime) -> list[tuple[datetime, dict]]:
        first: dict[str, datetime] = {}
        for dispatch_id, e in self._changes():
            if e.to_status.value == status:
                first[dispatch_id] = min(first.get(dispatch_id, e.at), e.at)
        t = self._read
        return [
            (at, payload_of(t.dispatches[dispatch_id]["dispatch"]))
            for dispatch_id, at in first.items()
            if at >= since and dispatch_id in t.dispatches
        ]

    async def count_by_hall_status(self) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for row in self._read.dispatches.values():
            d = row["dispatch"]
            per_hall = found.setdefault(d.hall, {})
            per_hall[d.status.value] = per_hall.get(d.status.value, 0) + 1
        return found

    async def first_moves_by_hall(self, status: str, since: datetime) -> list[tuple[str, datetime, dict]]:
        first: dict[str, datetime] = {}
        for dispatch_id, e in self._changes():
            if e.to_status.value == status:
                first[dispatch_id] = min(first.get(dispatch_id, e.at), e.at)
        t = self._read
        found = [(t.dispatches[i]["dispatch"], at) for i, at in first.items() if i in t.dispatches]
        found = [(d, at) for d, at in found if at >= since]
        return [(d.hall, at, payload_of(d)) for d, at in found]
