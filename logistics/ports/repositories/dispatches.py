"""Dispatches and their audit trail (留痕)."""

from __future__ import annotations

from typing import Protocol

from ...domain.model import AuditEvent, Dispatch


class Dispatches(Protocol):
    async def insert_new(self, d: Dispatch, *, request_hash: str, response: dict) -> bool:
        """Insert unless (client, case_no) exists; True when this call created it."""
        ...

    async def find_by_case(self, client_id: str, case_no: str):
        """The stored (request_hash, response) of a case, or None."""
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
