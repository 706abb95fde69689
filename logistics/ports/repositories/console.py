"""Console sessions, sign-in attempts, the staff audit log, pickup codes, dispatch search and the
dashboard's figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ...domain.model import Dispatch


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt counted before its password is checked: its number in the current window,
    and the end of the lock-out when this attempt reached the limit."""

    number: int
    locked_until: datetime | None


class ConsoleRecords(Protocol):
    async def add_session(
        self, *, id_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime
    ) -> None: ...

    async def get_session(self, id_hash: str): ...

    async def touch_session(self, id_hash: str, *, now: datetime, expires_at: datetime) -> None: ...

    async def drop_session(self, id_hash: str) -> None: ...

    async def drop_sessions_of(self, user_id: int) -> None: ...

    async def drop_expired(self, now: datetime) -> None: ...

    async def failures_of(self, name: str): ...

    async def reserve_login_attempt(
        self, name: str, *, now: datetime, limit: int, window: timedelta
    ) -> Attempt | None: ...

    async def clear_failures(self, name: str) -> None: ...

    async def audit(self, *, at: datetime, actor: str, action: str, subject: str, **detail) -> None: ...

    async def audit_log(self, *, limit: int = 100, action_prefix: str | None = None) -> list: ...

    async def put_pickup_code(
        self, dispatch_id: str, *, code_hash: str, now: datetime, expires_at: datetime, by: str
    ) -> None:
        """A new code for the dispatch, replacing any earlier one."""
        ...

    async def expire_pickup_code(self, dispatch_id: str, *, now: datetime) -> None:
        """The dispatch's unused code stops working now (it went to a number found to be wrong)."""
        ...

    async def pickup_code(self, dispatch_id: str): ...

    async def pickup_codes_for(self, dispatch_ids: list[str]) -> dict: ...

    async def queue_pickup_slip(self, dispatch_id: str, *, reason: str, now: datetime) -> None:
        """The dispatch's pickup code is to be printed on a slip (取件通知单), waiting from `now`."""
        ...

    async def slip_printed(self, dispatch_id: str, *, now: datetime, by: str) -> None: ...

    async def clear_pickup_slip(self, dispatch_id: str) -> None:
        """No slip is waiting (the code reached the citizen by SMS)."""
        ...

    async def pickup_slips_for(self, dispatch_ids: list[str]) -> dict:
        """{dispatch id: row (reason, queued_at, printed_at, printed_by)} of those with a slip."""
        ...

    async def reserve_pickup_attempt(
        self, dispatch_id: str, *, now: datetime, max_attempts: int
    ) -> str | None:
        """Count one more try at the dispatch's code before it is checked, in one conditional UPDATE: the
        code's hash, or None when there is no usable code (none, used, expired or out of tries)."""
        ...

    async def use_pickup_code(self, dispatch_id: str, *, code_hash: str, now: datetime) -> bool:
        """Mark the code that was checked used, once: False when it was used or replaced meanwhile."""
        ...

    async def search_dispatches(
        self, *, statuses: list[str] | None, q: str = "", limit: int = 100, offset: int = 0,
        hall: str | None = None,
    ) -> tuple[list, int]:  # fmt: skip
        """Dispatches by status and a search for a whole case number, waybill number or the
        recipient's full name, the latest change first; `hall`: only that hall's (a scoped unit of work
        keeps to its own anyway)."""
        ...

    async def count_by_status(self) -> dict[str, int]: ...

    async def village_point_dispatches(self) -> list[Dispatch]:
        """The dispatches delivered through village proxy points, oldest first."""
        ...

    async def received_since(self, since: datetime) -> int:
        """How many dispatches were received (created) at or after `since`."""
        ...

    async def moves_since(self, since: datetime, statuses: Sequence[str]) -> dict[str, int]:
        """How many status changes to each of `statuses` happened at or after `since`."""
        ...

    async def first_moves_to(self, status: str, since: datetime) -> list[tuple[datetime, dict]]:
        """(first move to `status` at or after `since`, the dispatch's payload), one per dispatch."""
        ...

    async def count_by_hall_status(self) -> dict[str, dict[str, int]]:
        """{hall: {status: dispatches}} (the province view)."""
        ...

    async def first_moves_by_hall(self, status: str, since: datetime) -> list[tuple[str, datetime, dict]]:
        """(hall, first move to `status` at or after `since`, the dispatch's payload), one per dispatch."""
        ...
