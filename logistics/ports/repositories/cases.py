"""A case's progress (办件进度) as the approval system posts it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ...domain.case_progress import CaseEvent


class CaseEvents(Protocol):
    async def of_case(self, client_id: str, case_no: str) -> list[CaseEvent]:
        """The stored events of one case of a client, in the order of their time (then of arrival)."""
        ...

    async def find(self, client_id: str, case_no: str, stage: str, at: datetime) -> CaseEvent | None:
        """The event of a case at a stage and time, if stored."""
        ...

    async def insert(self, event: CaseEvent) -> bool:
        """Store the event unless one with its key (client, case_no, stage, at) is stored; True when
        this call stored it."""
        ...
