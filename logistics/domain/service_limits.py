"""Service limits (服务时限) for supervision (智能监管): how long a department's certificate may take from
completion (办结) to handover to EMS (交寄) and to delivery (送达).

A limit is whole hours (`"36h"`, counted on the clock from the completion moment) or working days (`"3d"`:
by the end of the 3rd working day after the day of completion, China time, as 「办结后 3 个工作日内」 is
read). Working days are Monday to Friday, less `holidays`, plus `workdays` (调休 weekends).

    {"default": {"handover": "1d", "delivery": "5d"},
     "departments": {"360829-SCJG": {"delivery": "3d"}},
     "matters": {"M-0101": {"handover": "4h"}},
     "holidays": ["2026-10-01"], "workdays": ["2026-10-10"]}

A matter's override wins over its department's, which wins over the default, stage by stage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .china_time import CHINA

STAGES = ("handover", "delivery")
_LIMIT = re.compile(r"\s*([1-9][0-9]{0,3})\s*([dh])\s*")


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: str  # "h" hours on the clock, "d" working days

    @classmethod
    def parse(cls, text: object, where: str) -> Limit:
        match = _LIMIT.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(
                f"{where}: a limit is whole hours or working days, e.g. '36h' or '3d', not {text!r}"
            )
        return cls(int(match[1]), match[2])

    @property
    def text(self) -> str:
        return f"{self.amount} 小时" if self.unit == "h" else f"{self.amount} 个工作日"

    @property
    def least_hours(self) -> int:
        """No item within this many hours of completion can be late (a working day is at least a day)."""
        return self.amount if self.unit == "h" else self.amount * 24


@dataclass(frozen=True)
class StageLimits:
    handover: Limit
    delivery: Limit

    def of(self, stage: str) -> Limit:
        return self.handover if stage == "handover" else self.delivery


@dataclass(frozen=True)
class ServiceLimits:
    default: StageLimits = StageLimits(Limit(1, "d"), Limit(5, "d"))
    departments: dict[str, dict[str, Limit]] = field(default_factory=dict)
    matters: dict[str, dict[str, Limit]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def parse(cls, data: object) -> ServiceLimits:
        """From the settings' JSON object; ValueError naming the key that is wrong."""
        if not isinstance(data, dict):
            raise ValueError("service limits: a JSON object")
        unknown = set(data) - {"default", "departments", "matters", "holidays", "workdays"}
        if unknown:
            raise ValueError(f"service limits: unknown key {sorted(unknown)[0]!r}")
        base = cls.default
        default = _stages(data.get("default", {}), "default")
        return cls(
            StageLimits(default.get("handover", base.handover), default.get("delivery", base.delivery)),
            _overrides(data.get("departments", {}), "departments"),
            _overrides(data.get("matters", {}), "matters"),
            _days(data.get("holidays", []), "holidays"),
            _days(data.get("workdays", []), "workdays"),
        )

    def limit(self, stage: str, department_code: str, matter_code: str) -> Limit:
        for overrides in (self.matters.get(matter_code), self.departments.get(department_code)):
            if overrides and stage in overrides:
                return overrides[stage]
        return self.default.of(stage)

    def least_hours(self, stage: str) -> int:
        """The shortest limit of `stage` anywhere, in hours no late item can be under."""
        found = [self.default.of(stage)]
        found += [o[stage] for o in (*self.departments.values(), *self.matters.values()) if stage in o]
        return min(limit.least_hours for limit in found)

    def is_workday(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)

    def deadline(self, limit: Limit, completed_at: datetime) -> datetime:
        if limit.unit == "h":
            return completed_at + timedelta(hours=limit.amount)
        day, counted = completed_at.astimezone(CHINA).date(), 0
        while counted < limit.amount:
            day += timedelta(days=1)
            counted += self.is_workday(day)
        return datetime.combine(day + timedelta(days=1), time(), CHINA)  # the end of that day

    def on_time_by_day(self, limit: Limit, completed_day: date, done_day: date) -> bool:
        """A working-day limit judged on calendar days alone (what the figures are grouped by)."""
        deadline = self.deadline(limit, datetime.combine(completed_day, time(), CHINA))
        return done_day < deadline.date()


def _stages(value: object, where: str) -> dict[str, Limit]:
    if not isinstance(value, dict):
        raise ValueError(f"service limits: {where} is an object of stages (handover, delivery)")
    for stage in value:
        if stage not in STAGES:
            raise ValueError(f"service limits: {where}.{stage}: the stages are handover and delivery")
    return {stage: Limit.parse(text, f"service limits: {where}.{stage}") for stage, text in value.items()}


def _overrides(value: object, where: str) -> dict[str, dict[str, Limit]]:
    if not isinstance(value, dict):
        raise ValueError(f"service limits: {where} is an object keyed by code")
    return {str(code): _stages(stages, f"{where}.{code}") for code, stages in value.items()}


def _days(value: object, where: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise ValueError(f"service limits: {where} is a list of dates (YYYY-MM-DD)")
    try:
        return frozenset(date.fromisoformat(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"service limits: {where}: dates are YYYY-MM-DD") from None
