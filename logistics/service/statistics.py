"""Statistics (统计分析) over any month or range of months.

- mailed: dispatches first handed over to EMS in the range (any carrier status after handover counts as
  handed over), by month, township (乡镇, from the address), village point, department and matter;
- days from completion (办结, the approval system's `completed_at`) to delivery (delivered or picked up in
  the range): median and 90th percentile (nearest rank, on times rounded up to whole hours);
- on time: delivered within the service limit of the dispatch's department and matter (`ServiceLimits`,
  the same limits supervision judges breaches by);
- cost per department: what EMS billed for it in each month's reconciliation (the closed month's frozen
  run, else the newest run of the month: 对账单 amounts allocated to departments); months without a
  reconciliation have no cost and are listed as such.

Every figure is counted by the repository (in SQL); this module only adds the counts up."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from ..domain.errors import InvalidInput
from ..domain.service_limits import ServiceLimits
from ..ports import UnitOfWork
from ..ports.repositories.statistics import Count, DaysCount, HoursCount
from .console_text import day_start

_MONTH = re.compile(r"[12][0-9]{3}-(0[1-9]|1[0-2])")
MAX_MONTHS = 60


@dataclass(frozen=True)
class MonthRange:
    first: str  # YYYY-MM
    last: str

    @property
    def months(self) -> list[str]:
        y, m = map(int, self.first.split("-"))
        found = []
        while f"{y:04d}-{m:02d}" <= self.last:
            found.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return found

    @property
    def start(self) -> datetime:
        y, m = map(int, self.first.split("-"))
        return day_start(date(y, m, 1))

    @property
    def end(self) -> datetime:
        y, m = map(int, self.last.split("-"))
        return day_start(date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1))

    @property
    def text(self) -> str:
        return self.first if self.first == self.last else f"{self.first} 至 {self.last}"


def month_range(first: str | None, last: str | None, *, today: date) -> MonthRange:
    """The months asked for (`from`, `to`, YYYY-MM; either alone is one month; neither: this month)."""
    current = f"{today:%Y-%m}"
    first, last = first or last or current, last or first or current
    errors = [
        (name, f"月份必须是 YYYY-MM（例如 2026-10），而不是 {value!r}")
        for name, value in (("from", first), ("to", last))
        if not _MONTH.fullmatch(value)
    ]
    if errors:
        raise InvalidInput(errors)
    if first > last:
        raise InvalidInput([("to", f"结束月份 {last} 早于开始月份 {first}")])
    chosen = MonthRange(first, last)
    if len(chosen.months) > MAX_MONTHS:
        raise InvalidInput([("to", f"一次最多统计 {MAX_MONTHS} 个月")])
    return chosen


@dataclass(frozen=True)
class Times:
    """A stage's times over a set of dispatches: how many, median and p90 in days, how many on time."""

    count: int
    median_days: float | None
    p90_days: float | None
    on_time: int

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.count if self.count else None


@dataclass(frozen=True)
class TimesRow:
    code: str
    name: str
    handover: Times
    delivery: Times


@dataclass(frozen=True)
class CostRow:
    code: str
    name: str
    fen: int


@dataclass
class Statistics:
    range: MonthRange
    by_month: list[Count]  # every month of the range, zeros included
    by_town: list[Count]
    by_village_point: list[Count]
    by_department: list[Count]
    by_matter: list[Count]
    handover: Times
    delivery: Times
    departments: list[TimesRow]
    matters: list[TimesRow]
    costs: list[CostRow]
    reconciled_months: list[str]
    unreconciled_months: list[str] = field(default_factory=list)

    @property
    def mailed(self) -> int:
        return sum(c.count for c in self.by_month)

    @property
    def cost_fen(self) -> int | None:
        return sum(c.fen for c in self.costs) if self.reconciled_months else None


async def build(uow: UnitOfWork, chosen: MonthRange, *, limits: ServiceLimits) -> Statistics:
    start, end = chosen.start, chosen.end
    async with uow:
        s = uow.statistics
        mailed = {dim: await s.mailed(dim, start, end) for dim in ("month", "town", "village_point")}
        mailed |= {dim: await s.mailed(dim, start, end) for dim in ("department", "matter")}
        hours = {stage: await s.stage_hours(stage, start, end) for stage in ("handover", "delivery")}
        days = {stage: await s.stage_days(stage, start, end) for stage in ("handover", "delivery")}
        departments, matters = await s.names()
        costs = await s.department_costs(chosen.months)
        point_names = {p.code: p.name for p in await uow.village_points.list()}
    cost_by: dict[str, int] = defaultdict(int)
    for month in costs.values():
        for code, fen in month.items():
            cost_by[code] += fen
    counted = {c.key: c for c in mailed["month"]}
    by_month = [counted.get(m, Count(m, m, 0)) for m in chosen.months]

    def times_by(key) -> dict[str, dict[str, Times]]:
        found: dict[str, dict[str, Times]] = defaultdict(dict)
        for stage in ("handover", "delivery"):
            h, d = _grouped(hours[stage], key), _grouped(days[stage], key)
            for code in h.keys() | d.keys():
                found[code][stage] = stage_times(stage, h.get(code, []), d.get(code, []), limits)
        return found

    def rows(
        found: dict[str, dict[str, Times]], names: dict[str, str], more: Iterable[str]
    ) -> list[TimesRow]:
        """A row for each code with times, mailed dispatches or a cost in the range."""
        empty = Times(0, None, None, 0)
        codes = list(found) + [c for c in dict.fromkeys(more) if c not in found]
        made = [
            TimesRow(code, names.get(code) or code, found.get(code, {}).get("handover", empty),
                     found.get(code, {}).get("delivery", empty))
            for code in codes
        ]  # fmt: skip
        return sorted(made, key=lambda r: (-r.delivery.count, -r.handover.count, r.code))

    return Statistics(
        range=chosen,
        by_month=by_month,
        by_town=mailed["town"],
        by_village_point=[replace(c, name=point_names.get(c.key, c.name)) for c in mailed["village_point"]],
        by_department=mailed["department"],
        by_matter=mailed["matter"],
        handover=stage_times("handover", hours["handover"], days["handover"], limits),
        delivery=stage_times("delivery", hours["delivery"], days["delivery"], limits),
        departments=rows(
            times_by(lambda x: x.department_code),
            departments,
            [*(c.key for c in mailed["department"]), *cost_by],
        ),
        matters=rows(times_by(lambda x: x.matter_code), matters, (c.key for c in mailed["matter"])),
        costs=sorted(
            (CostRow(code, departments.get(code) or code, fen) for code, fen in cost_by.items()),
            key=lambda c: (-c.fen, c.code),
        ),
        reconciled_months=sorted(costs),
        unreconciled_months=[m for m in chosen.months if m not in costs],
    )


def _grouped(counts, key) -> dict[str, list]:
    found: dict[str, list] = defaultdict(list)
    for c in counts:
        found[key(c)].append(c)
    return found


def stage_times(
    stage: str, hours: Iterable[HoursCount], days: Iterable[DaysCount], limits: ServiceLimits
) -> Times:
    """Median, p90 and on-time count of one stage. Hour limits are judged on the whole hours taken,
    working-day limits on the completion and stage days (the repository counts both ways)."""
    histogram: dict[int, int] = defaultdict(int)
    on_time = 0
    for h in hours:
        histogram[h.hours] += h.count
        limit = limits.limit(stage, h.department_code, h.matter_code)
        if limit.unit == "h" and h.hours <= limit.amount:
            on_time += h.count
    for d in days:
        limit = limits.limit(stage, d.department_code, d.matter_code)
        if limit.unit == "d" and limits.on_time_by_day(limit, d.completed_on, d.done_on):
            on_time += d.count
    count = sum(histogram.values())
    return Times(count, _percentile(histogram, count, 50), _percentile(histogram, count, 90), on_time)


def _percentile(histogram: dict[int, int], count: int, percent: int) -> float | None:
    """Nearest rank: the smallest time `percent` % of the dispatches took no longer than, in days."""
    if not count:
        return None
    rank, seen = max(1, -(-count * percent // 100)), 0
    for hours in sorted(histogram):
        seen += histogram[hours]
        if seen >= rank:
            return hours / 24
    return None
