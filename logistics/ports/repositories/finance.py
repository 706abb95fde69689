"""Reconciliation runs, month close and the facts they match against."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ...domain.shipped import ShippedParcel


class FinanceRecords(Protocol):
    async def shipped_parcels(self) -> list[ShippedParcel]:
        """Every dispatch that ever got a waybill number, whatever its status or month, as reconciliation
        sees it; accepted on the China day of the carrier's first handed_over scan, else the hall's
        first handover move, else the carrier's first later scan (None: never handed over)."""
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
