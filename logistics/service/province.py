"""The province view (全省概览): the halls side by side, for staff over every hall.

Per hall: dispatches by status, booked this month (first move to booked, China time), the exceptions
waiting for a person (as the dashboard counts them), and this month's on-time delivery rate (delivered
within `ontime_days` of the approval system's completion)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.hall import Hall
from ..ports import UnitOfWork
from .console_text import cn_today, day_start
from .exceptions_queue import ATTENTION


@dataclass
class HallFigures:
    hall: Hall
    by_status: dict[str, int]
    booked_month: int
    delivered_month: int
    ontime: int

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def exceptions(self) -> int:
        return sum(self.by_status.get(s, 0) for s in ATTENTION)

    @property
    def ontime_rate(self) -> float | None:
        return self.ontime / self.delivered_month if self.delivered_month else None


async def compare(uow: UnitOfWork, *, now: datetime, ontime_days: float) -> list[HallFigures]:
    """One row per hall the unit of work sees (every hall, unscoped), in the halls' order."""
    month_start = day_start(cn_today(now).replace(day=1))
    async with uow:
        listed = await uow.halls.list()
        by_status = await uow.console.count_by_hall_status()
        booked = await uow.console.first_moves_by_hall("booked", month_start)
        delivered = await uow.console.first_moves_by_hall("delivered", month_start)
    rows = {
        h.code: HallFigures(h, by_status.get(h.code, {}), 0, 0, 0)
        for h in listed
        if uow.hall is None or h.code == uow.hall
    }
    for code, _, _ in booked:
        if code in rows:
            rows[code].booked_month += 1
    for code, at, payload in delivered:
        if code in rows:
            rows[code].delivered_month += 1
            days = (at - datetime.fromisoformat(payload["completed_at"])).total_seconds() / 86400
            rows[code].ontime += days <= ontime_days
    return list(rows.values())
