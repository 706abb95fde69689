"""`ports.repositories.cases.CaseEvents` in memory: a case's progress, one row per (client, case, stage,
at)."""

from __future__ import annotations

from datetime import datetime

from logistics.domain.case_progress import CaseEvent

from .base import FakeRepository


class FakeCaseEvents(FakeRepository):
    async def of_case(self, client_id: str, case_no: str) -> list[CaseEvent]:
        rows = self._read.case_events
        found = [rows[key] for key in rows if key[:2] == (client_id, case_no)]
        return [e for _, e in sorted(found, key=lambda row: (row[1].at, row[0]))]

    async def find(self, client_id: str, case_no: str, stage: str, at: datetime) -> CaseEvent | None:
        row = self._read.case_events.get((client_id, case_no, stage, at))
        return row[1] if row else None

    async def insert(self, event: CaseEvent) -> bool:
        t = self._write
        if event.key in t.case_events:
            return False
        t.case_events[event.key] = (t.next_id("case_events"), event)  # frozen: never changed in place
        return True
