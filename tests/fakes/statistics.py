"""`ports.repositories.statistics.Statistics` in memory: the same figures, counted row by row in Python."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime

from logistics.domain.china_time import CHINA
from logistics.domain.model import DeliveryMethod, Direction, Dispatch
from logistics.ports.repositories.statistics import (
    NEVER_DUE,
    STAGE_STATUSES,
    Count,
    DaysCount,
    Dimension,
    HoursCount,
    Stage,
    StageItem,
)

from .base import FakeRepository


def _applies(stage: Stage, d: Dispatch) -> bool:
    if d.direction is not Direction.OUTBOUND:
        return False
    return stage == "delivery" or d.delivery_method is not DeliveryMethod.PICKUP


class FakeStatistics(FakeRepository):
    def _first(self, stage: Stage) -> dict[str, datetime]:
        statuses, first = STAGE_STATUSES[stage], {}
        for row in self._read.dispatch_events:
            ev = row["event"]
            if ev.to_status is None or ev.from_status is None or ev.from_status == ev.to_status:
                continue
            if ev.to_status.value in statuses:
                prior = first.get(row["dispatch_id"])
                first[row["dispatch_id"]] = ev.at if prior is None else min(prior, ev.at)
        return first

    def _done(self, stage: Stage, start: datetime, end: datetime):
        dispatches = self._read.dispatches
        for dispatch_id, at in self._first(stage).items():
            d = dispatches[dispatch_id]["dispatch"] if dispatch_id in dispatches else None
            if d is not None and _applies(stage, d) and start <= at < end:
                yield d, at

    async def mailed(self, dimension: Dimension, start: datetime, end: datetime) -> list[Count]:
        counts: Counter = Counter()
        names: dict[str, str] = {}
        for d, at in self._done("handover", start, end):
            if dimension == "village_point" and d.delivery_method is not DeliveryMethod.VILLAGE_POINT:
                continue
            key, name = {
                "month": (f"{at.astimezone(CHINA):%Y-%m}",) * 2,
                "town": (d.address.town,) * 2,
                "village_point": (d.village_point_code or "",) * 2,
                "department": (d.department_code, d.department_name),
                "matter": (d.matter_code, d.matter_name),
            }[dimension]
            counts[key] += 1
            names[key] = max(names.get(key, ""), name)
        found = [Count(k, names[k] or k, n) for k, n in counts.items()]
        if dimension == "month":
            return sorted(found, key=lambda x: x.key)
        return sorted(found, key=lambda x: (-x.count, x.key))

    async def stage_hours(self, stage: Stage, start: datetime, end: datetime) -> list[HoursCount]:
        counts: Counter = Counter()
        for d, at in self._done(stage, start, end):
            hours = math.ceil((at - d.completed_at).total_seconds() / 3600)
            counts[(d.department_code, d.matter_code, hours)] += 1
        return [HoursCount(*key, n) for key, n in counts.items()]

    async def stage_days(self, stage: Stage, start: datetime, end: datetime) -> list[DaysCount]:
        counts: Counter = Counter()
        for d, at in self._done(stage, start, end):
            days = (d.completed_at.astimezone(CHINA).date(), at.astimezone(CHINA).date())
            counts[(d.department_code, d.matter_code, *days)] += 1
        return [DaysCount(*key, n) for key, n in counts.items()]

    async def names(self) -> tuple[dict[str, str], dict[str, str]]:
        departments: dict[str, str] = {}
        matters: dict[str, str] = {}
        for row in self._read.dispatches.values():
            d = row["dispatch"]
            departments[d.department_code] = max(departments.get(d.department_code, ""), d.department_name)
            matters[d.matter_code] = max(matters.get(d.matter_code, ""), d.matter_name)
        return departments, matters

    async def slow_items(
        self, stage: Stage, start: datetime, end: datetime, *, over_hours: float, now: datetime
    ) -> list[StageItem]:
        first, found = self._first(stage), []
        for row in self._read.dispatches.values():
            d = row["dispatch"]
            if not _applies(stage, d) or not start <= d.completed_at < end:
                continue
            done = first.get(d.id)
            if done is None and d.status.value in NEVER_DUE:
                continue
            if ((done or now) - d.completed_at).total_seconds() / 3600 > over_hours:
                found.append(
                    StageItem(
                        d.id,
                        d.case_no,
                        d.waybill_no,
                        d.status.value,
                        d.department_code,
                        d.department_name,
                        d.matter_code,
                        d.matter_name,
                        d.completed_at,
                        done,
                    )
                )
        return found

    async def department_costs(self, periods: list[str]) -> dict[str, dict[str, int]]:
        t, found = self._read, {}
        for period in periods:
            runs = sorted(
                (r for r in t.reconciliation_runs if r["period"] == period),
                key=lambda r: r["created_at"],
                reverse=True,
            )
            closed = t.finance_periods.get(period, {})
            if closed.get("status") == "closed":
                runs = [r for r in runs if r["id"] == closed["run_id"]]
            if runs:
                found[period] = {
                    s["department_code"]: s["amount_fen"] for s in runs[0]["summary"].get("departments", [])
                }
        return found
