"""A case's progress on disk (`ports.repositories.cases.CaseEvents`): the `case_events` table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.case_progress import CaseEvent, Stage
from ..domain.masking import phone_last4
from .tables import case_events


def case_event_row(e: CaseEvent) -> dict:
    return {
        "hall": e.hall, "client_id": e.client_id, "case_no": e.case_no, "stage": e.stage.value, "at": e.at,
        "note": e.note, "matter_name": e.matter_name, "applicant_phone": e.applicant_phone,
        "phone_last4": phone_last4(e.applicant_phone), "request_hash": e.request_hash,
        "created_at": e.created_at,
    }  # fmt: skip


def case_event_from_row(r) -> CaseEvent:
    return CaseEvent(
        r.hall, r.client_id, r.case_no, Stage(r.stage), r.at, r.note, r.matter_name, r.applicant_phone,
        r.request_hash, r.created_at,
    )  # fmt: skip


class SqlCaseEvents:
    """Scoped to one hall when `hall` is given: another hall's cases are not found, nor written."""

    def __init__(self, conn: AsyncConnection, hall: str | None = None):
        self.conn, self.hall = conn, hall

    def _scoped(self, query):
        return query if self.hall is None else query.where(case_events.c.hall == self.hall)

    async def of_case(self, client_id: str, case_no: str) -> list[CaseEvent]:
        c = case_events.c
        query = self._scoped(select(case_events).where(c.client_id == client_id, c.case_no == case_no))
        rows = await self.conn.execute(query.order_by(c.at, c.id))
        return [case_event_from_row(r) for r in rows]

    async def find(self, client_id: str, case_no: str, stage: str, at: datetime) -> CaseEvent | None:
        c = case_events.c
        query = self._scoped(
            select(case_events).where(
                c.client_id == client_id, c.case_no == case_no, c.stage == stage, c.at == at
            )
        )
        row = (await self.conn.execute(query)).first()
        return case_event_from_row(row) if row else None

    async def insert(self, event: CaseEvent) -> bool:
        if self.hall is not None and event.hall != self.hall:
            raise PermissionError(f"a unit of work of hall {self.hall} may not write another hall's case")
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(case_events)
            .values(**case_event_row(event))
            .on_conflict_do_nothing(index_elements=["client_id", "case_no", "stage", "at"])
        )
        return (await self.conn.execute(statement)).rowcount == 1
