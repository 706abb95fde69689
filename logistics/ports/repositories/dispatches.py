"""Dispatches and their audit trail (留痕)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ...domain.model import AuditEvent, Dispatch

CaseKey = tuple[str, str, str]
"""(client_id, case_no, direction): a case is received once per client and direction (an inbound
collection of the applicant's materials and the outbound delivery of the result may share a case_no)."""


@dataclass(slots=True)
class NewCase:
    """A case that intake creates: its dispatch, the first answer (replayed to identical repeats), its
    first audit events and, when it is to be booked, its booking job (kind, payload, dedupe key) due at
    `now`."""

    dispatch: Dispatch
    request_hash: str
    response: dict
    events: list[AuditEvent]
    job: tuple[str, dict, str] | None
    now: datetime
    max_attempts: int


class Dispatches(Protocol):
    async def stored_cases(self, keys: set[CaseKey]) -> dict[CaseKey, tuple[str, dict]]:
        """{(client_id, case_no, direction): (request_hash, response)} for the keys already stored."""
        ...

    async def insert_cases(self, cases: list[NewCase]) -> set[str]:
        """Insert new cases with their audit events and booking jobs, skipping any whose (client,
        case_no, direction) was stored meanwhile; the ids of the dispatches inserted."""
        ...

    async def insert_new(self, d: Dispatch, *, request_hash: str, response: dict) -> bool:
        """Insert unless (client, case_no, direction) exists; True when this call created it."""
        ...

    async def find_by_case(self, client_id: str, case_no: str, direction: str = "outbound"):
        """The stored (request_hash, response) of a case's dispatch in one direction, or None."""
        ...

    async def of_case(self, client_id: str, case_no: str) -> list[Dispatch]:
        """Every dispatch of one case of a client (inbound and outbound), the oldest first."""
        ...

    async def get(self, dispatch_id: str) -> Dispatch | None: ...

    async def get_many(self, ids: list[str]) -> list[Dispatch]: ...

    async def find(self, **where) -> Dispatch | None: ...

    async def save_move(self, before: Dispatch, after: Dispatch, event: AuditEvent) -> bool:
        """Write a status move if nobody moved the dispatch meanwhile; always with its audit event."""
        ...

    async def save_moves(self, moves: list[tuple[Dispatch, Dispatch, AuditEvent]]) -> set[str]:
        """`save_move` for many dispatches: one compare-and-set statement per (from, to, time) with each row's
        waybill number and reason, and the audit events of those that moved in one insert. Returns the ids
        that moved (a missing one was moved by someone else meanwhile)."""
        ...

    async def save_contact(self, d: Dispatch) -> None:
        """Store a corrected recipient and address."""
        ...

    async def add_event(self, dispatch_id: str, event: AuditEvent) -> None: ...

    async def add_events(self, events: list[tuple[str, AuditEvent]]) -> None: ...

    async def events(self, dispatch_id: str) -> list[AuditEvent]: ...

    async def search(
        self, *, status: str | None = None, q: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[Dispatch], int]: ...
