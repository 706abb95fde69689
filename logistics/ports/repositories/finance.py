"""Reconciliation runs, month close and the facts they match against."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Protocol


class Waybilled(NamedTuple):
    """What reconciliation needs of a dispatch that got a waybill number (not the whole dispatch)."""

    id: str
    waybill_no: str
    department_code: str
    department_name: str
    weight_g: int
    declared_value_fen: int
    province: str
    city: str
    county: str
    status: str


class FinanceRecords(Protocol):
    async def waybilled(self) -> list[Waybilled]:
        """Every dispatch that ever got a waybill number, whatever its status or month."""
        ...

    async def first_scans(self) -> tuple[dict[str, datetime], dict[str, datetime]]:
        """({waybill: first handed_over scan}, {waybill: first later scan}) from the carrier's events."""
        ...

    async def handover_moves(self) -> dict[str, datetime]:
        """{dispatch id: when the audit trail first moved it to handed_over}."""
        ...

    async def insert_run(self, **values) -> bool:
        """Store a run unless one with the same input exists; True when this call stored it."""
        ...

    async def find_run(self, period: str, sha256: str, tariff_sha256: str): ...

    async def get_run(self, run_id: str): ...

    async def run_result(self, run_id: str) -> str | None:
        """The stored JSON report of a run, as text."""
        ...

    async def list_runs(self, period: str | None = None) -> list: ...

    async def get_period(self, period: str): ...

    async def lock_period(self, period: str):
        """The month's row, created open if new, locked until the transaction ends
        (SQLite: BEGIN IMMEDIATE)."""
        ...

    async def close_period(self, period: str, *, run_id: str, by: str, at: datetime) -> None: ...
