"""`ports.repositories.pool.WaybillPool` in memory: pre-allocated waybill numbers."""

from __future__ import annotations

from datetime import datetime

from .base import FakeRepository

FREE, ASSIGNED = "free", "assigned"


class FakeWaybillPool(FakeRepository):
    async def add(self, numbers: list[str], *, now: datetime) -> None:
        t = self._write
        for number in numbers:
            t.waybill_pool.setdefault(
                number,
                dict(waybill_no=number, state=FREE, dispatch_id=None, allocated_at=now, assigned_at=None),
            )

    async def take(self, dispatch_id: str, *, now: datetime) -> str | None:
        t = self._write
        for row in t.waybill_pool.values():
            if row["dispatch_id"] == dispatch_id:
                return row["waybill_no"]
        free = [row for row in t.waybill_pool.values() if row["state"] == FREE]
        if not free:
            return None
        oldest = min(free, key=lambda row: (row["allocated_at"], row["waybill_no"]))
        oldest.update(state=ASSIGNED, dispatch_id=dispatch_id, assigned_at=now)
        return oldest["waybill_no"]

    async def counts(self) -> dict[str, int]:
        found = {FREE: 0, ASSIGNED: 0}
        for row in self._read.waybill_pool.values():
            found[row["state"]] += 1
        return found
