"""Supervision (智能监管): dispatches that took, or are taking, longer than their service limit from
completion (办结) to handover to EMS (交寄) or to delivery (送达).

A breach (超时) is a dispatch completed in the chosen range whose stage was done after its deadline, or is
not done and the deadline has passed (still open, 仍未完成; not for cancelled or returned dispatches).
The repository returns only dispatches slower than the shortest limit anywhere; each is judged here
against its own department's and matter's limit (`ServiceLimits`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from ..domain.china_time import CHINA
from ..domain.errors import InvalidInput
from ..domain.service_limits import Limit, ServiceLimits
from ..ports import UnitOfWork
from ..ports.repositories.statistics import StageItem

STAGE_TEXT = {"handover": "办结→交寄", "delivery": "办结→送达"}
PER_PAGE = 50


@dataclass(frozen=True)
class Filters:
    stage: str = ""  # "" both
    department: str = ""
    matter: str = ""
    open_only: bool = False

    def __post_init__(self):
        if self.stage not in ("", *STAGE_TEXT):
            raise InvalidInput(
                [("stage", f"环节只能是 handover（交寄）或 delivery（送达），而不是 {self.stage!r}")]
            )


@dataclass(frozen=True)
class Breach:
    stage: str
    item: StageItem
    limit: Limit
    deadline: datetime
    over_hours: float  # past the deadline: when done, or now while open

    @property
    def open(self) -> bool:
        return self.item.done_at is None


@dataclass
class Breaches:
    total: int
    page: int
    pages: int
    per_page: int
    items: list[Breach]  # this page, the furthest past its deadline first
    open: int  # of all the breaches found, how many are still not done
    by_department: list[tuple[str, str, int]]  # (code, name, breaches)


async def find(
    uow: UnitOfWork,
    *,
    start: datetime,
    end: datetime,
    limits: ServiceLimits,
    now: datetime,
    filters: Filters = Filters(),
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Breaches:
    stages = [filters.stage] if filters.stage else list(STAGE_TEXT)
    async with uow:
        found = []
        for stage in stages:
            over = limits.least_hours(stage)
            for item in await uow.statistics.slow_items(stage, start, end, over_hours=over, now=now):
                breach = judge(stage, item, limits, now)
                if breach is not None and _kept(breach, filters):
                    found.append(breach)
    found.sort(key=lambda b: (-b.over_hours, b.item.case_no, b.stage))
    pages = max(1, -(-len(found) // per_page))
    page = min(max(1, page), pages)
    names = {b.item.department_code: b.item.department_name for b in found}
    per_department = Counter(b.item.department_code for b in found)
    return Breaches(
        total=len(found),
        page=page,
        pages=pages,
        per_page=per_page,
        items=found[(page - 1) * per_page : page * per_page],
        open=sum(1 for b in found if b.open),
        by_department=[(code, names[code] or code, n) for code, n in per_department.most_common()],
    )


def judge(stage: str, item: StageItem, limits: ServiceLimits, now: datetime) -> Breach | None:
    limit = limits.limit(stage, item.department_code, item.matter_code)
    deadline = limits.deadline(limit, item.completed_at)
    at = item.done_at or now
    if at <= deadline:
        return None
    return Breach(stage, item, limit, deadline, (at - deadline).total_seconds() / 3600)


def deadline_text(at: datetime) -> str:
    """A working-day deadline (midnight) reads as the end of its last day: 2026-10-21 24:00."""
    local = at.astimezone(CHINA)
    if local.time() == time():
        return f"{local - timedelta(days=1):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def _kept(b: Breach, f: Filters) -> bool:
    return (
        (not f.department or b.item.department_code == f.department)
        and (not f.matter or b.item.matter_code == f.matter)
        and (not f.open_only or b.open)
    )
