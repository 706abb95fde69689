"""The figures of statistics (统计分析) and supervision (智能监管), counted where the data is.

Only outbound dispatches count. Two stages, each the first move of a dispatch into one of its statuses:
handover (交寄, to handed_over or any carrier status after it: a courier may scan before the hall hands
over) for dispatches sent through EMS (mail, village point), and delivery (送达, to delivered or
picked_up) for all. Times are measured from the approval system's completion time (`completed_at`).
Days and months are China time. Ranges are [start, end)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

Dimension = Literal["month", "town", "village_point", "department", "matter"]
DIMENSIONS: tuple[Dimension, ...] = ("month", "town", "village_point", "department", "matter")
Stage = Literal["handover", "delivery"]
STAGE_STATUSES: dict[str, tuple[str, ...]] = {
    "handover": ("handed_over", "in_transit", "out_for_delivery", "delivered", "delivery_failed",
                 "returning", "returned"),
    "delivery": ("delivered", "picked_up"),
}  # fmt: skip
NEVER_DUE = ("cancelled", "returned")
"""Statuses in which a dispatch without the stage's move is not overdue: it will never make it."""
BEFORE_STAGE: dict[str, tuple[str, ...]] = {
    "handover": ("received", "booking", "booked", "booking_failed", "label_printed"),
    "delivery": ("received", "booking", "booked", "booking_failed", "label_printed", "handed_over",
                 "in_transit", "out_for_delivery", "delivery_failed", "returning", "awaiting_pickup"),
}  # fmt: skip
"""The statuses of a dispatch the stage applies to that has not made its move and may still: the others
have made it (the statuses are reached only through it) or never will (NEVER_DUE)."""


@dataclass(frozen=True)
class Count:
    key: str  # the month (YYYY-MM), town, village point code, department or matter code; "" unknown
    name: str  # the department's or matter's name; else the key
    count: int


@dataclass(frozen=True)
class HoursCount:
    """Dispatches whose stage took `hours` (whole hours, rounded up) after completion."""

    department_code: str
    matter_code: str
    hours: int
    count: int


@dataclass(frozen=True)
class DaysCount:
    """Dispatches completed on `completed_on` whose stage happened on `done_on` (China days)."""

    department_code: str
    matter_code: str
    completed_on: date
    done_on: date
    count: int


@dataclass(frozen=True)
class StageItem:
    """One dispatch and its stage, for the supervisor's list: `done_at` None while not done yet."""

    dispatch_id: str
    case_no: str
    waybill_no: str | None
    status: str
    department_code: str
    department_name: str
    matter_code: str
    matter_name: str
    completed_at: datetime
    done_at: datetime | None


class Statistics(Protocol):
    async def mailed(self, dimension: Dimension, start: datetime, end: datetime) -> list[Count]:
        """Dispatches handed over (first handover move) in [start, end), counted by `dimension`; most first
        (months in order). Village points count only dispatches sent to a point."""
        ...

    async def stage_hours(self, stage: Stage, start: datetime, end: datetime) -> list[HoursCount]:
        """Dispatches whose stage happened in [start, end), by department, matter and whole hours taken."""
        ...

    async def stage_days(self, stage: Stage, start: datetime, end: datetime) -> list[DaysCount]:
        """Dispatches whose stage happened in [start, end), by department, matter, completion day and
        stage day."""
        ...

    async def names(self) -> tuple[dict[str, str], dict[str, str]]:
        """({department code: name}, {matter code: name}) as the approval system last sent them."""
        ...

    async def slow_items(
        self, stage: Stage, start: datetime, end: datetime, *, over_hours: float, now: datetime
    ) -> list[StageItem]:
        """Dispatches completed in [start, end) whose stage took more than `over_hours` hours, or is not
        done `over_hours` after completion at `now` (unless cancelled or returned): the candidates for
        breaches of a limit no shorter than that."""
        ...

    async def department_costs(self, periods: list[str]) -> dict[str, dict[str, int]]:
        """{period: {department code: billed fen}} from each month's reconciliation: the frozen run of a
        closed month, else the newest run. Months without a run are absent."""
        ...
