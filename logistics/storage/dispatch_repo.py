"""Dispatches and their audit trail on disk (`ports.repositories.dispatches.Dispatches`)."""

from __future__ import annotations

import itertools

import pydantic_core
from sqlalchemy import ARRAY, String, any_, case, cast, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.masking import phone_last4
from ..domain.model import AuditEvent, Dispatch
from ..ports.repositories.dispatches import CaseKey, NewCase
from .dispatch_codec import (
    DISPATCH_COLUMNS,
    dispatch_from_row,
    dispatch_row,
    event_from_row,
    event_row,
    payload,
    recipient_key,
)
from .job_repo import SqlJobs
from .tables import dispatch_events, dispatches


class SqlDispatches:
    """Scoped to one hall when `hall` is given: no read or change reaches another hall's dispatches or
    their audit trail (another hall's id is as unknown as one that never existed)."""

    def __init__(self, conn: AsyncConnection, hall: str | None = None):
        self.conn, self.hall = conn, hall

    def _scoped(self, query):
        return query if self.hall is None else query.where(dispatches.c.hall == self.hall)

    def _check_hall(self, ds) -> None:
        if self.hall is not None and any(d.hall != self.hall for d in ds):
            raise PermissionError(
                f"a unit of work of hall {self.hall} may not create another hall's dispatch"
            )

    def _insert_ignoring_duplicates(self):
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(dispatches).on_conflict_do_nothing(
            index_elements=["client_id", "case_no", "direction"]
        )

    async def insert_new(self, d: Dispatch, *, request_hash: str, response: dict) -> bool:
        """Insert unless (client, case_no, direction) exists; True when this call created it."""
        self._check_hall([d])
        statement = self._insert_ignoring_duplicates().values(**dispatch_row(d, request_hash, response))
        return (await self.conn.execute(statement)).rowcount == 1

    async def stored_cases(self, keys: set[CaseKey]) -> dict[CaseKey, tuple[str, dict]]:
        """{(client_id, case_no, direction): (request_hash, response)} for the keys already stored. The
        case numbers travel as one JSON/array parameter: an expanding IN (...) would be compiled anew for
        every batch size, which costs more than the query."""
        cases = sorted({case_no for _, case_no, _ in keys})
        if self.conn.dialect.name == "sqlite":
            each = func.json_each(pydantic_core.to_json(cases).decode()).table_valued("value")
            wanted = dispatches.c.case_no.in_(select(each.c.value))
        else:
            wanted = dispatches.c.case_no == any_(cast(literal(cases), ARRAY(String)))
        c = dispatches.c
        rows = await self.conn.execute(
            self._scoped(
                select(c.client_id, c.case_no, c.direction, c.request_hash, c.response).where(wanted)
            )
        )
        return {
            (r.client_id, r.case_no, r.direction): (r.request_hash, r.response)
            for r in rows
            if (r.client_id, r.case_no, r.direction) in keys
        }

    async def insert_cases(self, cases: list[NewCase]) -> set[str]:
        """Insert new cases with their audit events and booking jobs, skipping any whose (client,
        case_no, direction) was stored meanwhile; the ids of the dispatches inserted."""
        if not cases:
            return set()
        self._check_hall([c.dispatch for c in cases])
        rows = [dispatch_row(c.dispatch, c.request_hash, c.response) for c in cases]
        inserted = set(
            await self.conn.scalars(self._insert_ignoring_duplicates().returning(dispatches.c.id), rows)
        )
        taken = [c for c in cases if c.dispatch.id in inserted]
        await self.add_events([(c.dispatch.id, e) for c in taken for e in c.events])
        with_jobs = [c for c in taken if c.job is not None]
        # one statement per run of jobs due at the same moment with the same attempts, in their order
        for (now, attempts), run in itertools.groupby(with_jobs, key=lambda c: (c.now, c.max_attempts)):
            await SqlJobs(self.conn).enqueue_many([c.job for c in run], now=now, max_attempts=attempts)
        return inserted

    async def find_by_case(self, client_id: str, case_no: str, direction: str = "outbound"):
        """The stored (request_hash, response) of a case's dispatch in one direction, or None."""
        c = dispatches.c
        query = select(c.request_hash, c.response).where(
            c.client_id == client_id, c.case_no == case_no, c.direction == direction
        )
        query = self._scoped(query)
        return (await self.conn.execute(query)).first()

    async def of_case(self, client_id: str, case_no: str) -> list[Dispatch]:
        """Every dispatch of one case of a client (inbound and outbound), the oldest first."""
        c = dispatches.c
        query = self._scoped(select(dispatches).where(c.client_id == client_id, c.case_no == case_no))
        rows = await self.conn.execute(query.order_by(c.created_at, c.id))
        return [dispatch_from_row(r) for r in rows]

    async def get(self, dispatch_id: str) -> Dispatch | None:
        query = self._scoped(select(dispatches).where(dispatches.c.id == dispatch_id))
        row = (await self.conn.execute(query)).first()
        return dispatch_from_row(row) if row else None

    async def get_many(self, ids: list[str]) -> list[Dispatch]:
        rows = await self.conn.execute(self._scoped(select(dispatches).where(dispatches.c.id.in_(ids))))
        return [dispatch_from_row(r) for r in rows]

    async def find(self, **where) -> Dispatch | None:
        query = self._scoped(select(dispatches))
        for column, value in where.items():
            query = query.where(dispatches.c[column] == value)
        row = (await self.conn.execute(query.limit(1))).first()
        return dispatch_from_row(row) if row else None

    async def save_move(self, before: Dispatch, after: Dispatch, event: AuditEvent) -> bool:
        """Write a status move if nobody moved the dispatch meanwhile; always with its audit event."""
        result = await self.conn.execute(
            self._scoped(update(dispatches))
            .where(dispatches.c.id == before.id, dispatches.c.status == before.status.value)
            .values(
                status=after.status.value,
                waybill_no=after.waybill_no,
                reason=after.reason,
                updated_at=after.updated_at,
            )
        )
        if result.rowcount != 1:
            return False
        await self.add_event(before.id, event)
        return True

    async def save_moves(self, moves: list[tuple[Dispatch, Dispatch, AuditEvent]]) -> set[str]:
        """`save_move` for many dispatches: one compare-and-set statement per (from, to, time) with each
        row's waybill number and reason, and the audit events of those that moved in one insert. Returns
        the ids that moved (a missing one was moved by someone else meanwhile)."""
        groups: dict[tuple, list[tuple[Dispatch, Dispatch]]] = {}
        for before, after, _ in moves:
            groups.setdefault((before.status.value, after.status.value, after.updated_at), []).append(
                (before, after)
            )
        moved: set[str] = set()
        for (from_status, to_status, at), pairs in groups.items():
            ids = [before.id for before, _ in pairs]
            waybills = {before.id: after.waybill_no for before, after in pairs}
            reasons = {before.id: after.reason for before, after in pairs}
            result = await self.conn.scalars(
                self._scoped(update(dispatches))
                .where(dispatches.c.id.in_(ids), dispatches.c.status == from_status)
                .values(
                    status=to_status,
                    waybill_no=case(waybills, value=dispatches.c.id, else_=dispatches.c.waybill_no),
                    reason=case(reasons, value=dispatches.c.id, else_=dispatches.c.reason),
                    updated_at=at,
                )
                .returning(dispatches.c.id)
            )
            moved.update(result)
        await self.add_events([(before.id, event) for before, _, event in moves if before.id in moved])
        return moved

    async def save_contact(self, d: Dispatch) -> None:
        """Store a corrected recipient and address."""
        await self.conn.execute(
            self._scoped(update(dispatches))
            .where(dispatches.c.id == d.id)
            .values(
                payload=payload(d),
                phone_last4=phone_last4(d.recipient.phone),
                recipient_key=recipient_key(d.recipient.name),
                updated_at=d.updated_at,
            )
        )

    async def add_event(self, dispatch_id: str, event: AuditEvent) -> None:
        await self.add_events([(dispatch_id, event)])

    async def add_events(self, events: list[tuple[str, AuditEvent]]) -> None:
        if events and self.hall is not None:
            ours = set(
                await self.conn.scalars(
                    self._scoped(select(dispatches.c.id).where(dispatches.c.id.in_({i for i, _ in events})))
                )
            )
            events = [(i, e) for i, e in events if i in ours]
        if events:
            await self.conn.execute(dispatch_events.insert(), [event_row(i, e) for i, e in events])

    async def events(self, dispatch_id: str) -> list[AuditEvent]:
        query = select(dispatch_events).where(dispatch_events.c.dispatch_id == dispatch_id)
        if self.hall is not None:
            ours = self._scoped(select(dispatches.c.id).where(dispatches.c.id == dispatch_id))
            query = query.where(ours.exists())
        rows = await self.conn.execute(query.order_by(dispatch_events.c.id))
        return [event_from_row(r) for r in rows]

    async def search(
        self, *, status: str | None = None, q: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[Dispatch], int]:
        query = self._scoped(select(*DISPATCH_COLUMNS))
        if status:
            query = query.where(dispatches.c.status.in_(status.split(",")))
        if q:
            query = query.where(
                or_(dispatches.c.case_no == q, dispatches.c.waybill_no == q, dispatches.c.id == q)
            )
        total = await self.conn.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self.conn.execute(
            query.order_by(dispatches.c.created_at.desc()).limit(limit).offset(offset)
        )
        return [dispatch_from_row(r) for r in rows], total or 0
