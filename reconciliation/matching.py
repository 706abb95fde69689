"""Matching statement lines with our shipments, in both directions, into one finding each.

Order of the findings: the statement's lines in file order, then the unbilled shipments by waybill number.
Of several lines with one waybill number, the one judged normally is the earliest by 收寄日期 (then the
lowest amount, then the content); the others are `duplicate`. So the findings do not depend on line order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import compress, repeat
from operator import attrgetter, ne, not_
from typing import NamedTuple

from .findings import UNKNOWN_DEPARTMENT, Code, Finding, Findings
from .statement import LineFields, Statement
from .tariff import Origin, Tariff, TariffVersion
from .wording import ZONE_NAMES, yuan_text


@dataclass(frozen=True)
class ShippedParcel:
    """One of our shipments, as the database knows it."""

    waybill_no: str
    department_code: str
    weight_g: int
    declared_value_fen: int
    province: str
    city: str
    county: str
    accepted_on: date | None  # date of the handed_over scan
    cancelled: bool = False


@dataclass(frozen=True)
class Period:
    first_day: date
    next_first_day: date

    @classmethod
    def parse(cls, text: str) -> Period:
        """ "2026-10" → the month; ValueError otherwise."""
        year, sep, month = text.partition("-")
        if not (sep and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()):
            raise ValueError(f'账期必须是 YYYY-MM，而不是 "{text}"')
        first = date(int(year), int(month), 1)  # ValueError for month 13
        return cls(first, date(first.year + first.month // 12, first.month % 12 + 1, 1))

    def __contains__(self, day: date) -> bool:
        return self.first_day <= day < self.next_first_day

    def __str__(self) -> str:
        return f"{self.first_day:%Y-%m}"


class _Profile(NamedTuple):
    """What judging a line needs from its shipment."""

    weight_g: int
    declared_value_fen: int
    province: str
    city: str
    county: str
    accepted_on: date | None
    cancelled: bool


_profile = attrgetter(*_Profile._fields)
_department = attrgetter("department_code")
_by_waybill = attrgetter("waybill_no")
_accepted_on = attrgetter("accepted_on")
_NOT_OURS = ShippedParcel("", UNKNOWN_DEPARTMENT, -1, 0, "", "", "", None, False)
_NOT_OURS_PROFILE = _profile(_NOT_OURS)


class _Judgements(dict):
    """A cache that computes what it lacks: hits stay in C when looked up through map()."""

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def __missing__(self, key):
        value = self[key] = self.compute(key)
        return value


# A judgement is a finding without the waybill, department and row: lines with the same content and
# the same kind of shipment share one. Field order follows Finding from accepted_on on.
Judgement = tuple


class Matcher:
    def __init__(self, tariff: Tariff, origin: Origin, period: Period):
        self.tariff, self.origin, self.period = tariff, origin, period
        self.shipments_of_period = 0

    def match(self, statement: Statement, shipments: Iterable[ShippedParcel]) -> Findings:
        shipments = list(shipments)
        by_waybill = dict(zip(map(_by_waybill, shipments), shipments, strict=True))
        of_period = self._of_period(list(by_waybill.values()))
        findings = self._judge_lines(statement, by_waybill)
        first_index = dict(zip(reversed(statement.waybills), range(len(findings) - 1, -1, -1), strict=True))
        if len(first_index) < len(findings):
            self._settle_duplicates(statement, findings, first_index, by_waybill)
        billed = map(first_index.__contains__, map(_by_waybill, of_period))
        unbilled = sorted(compress(of_period, map(not_, billed)), key=_by_waybill)
        for s in unbilled:
            findings.append(self._not_billed(s))
        self.shipments_of_period = len(of_period)
        return findings

    def _of_period(self, shipments: list[ShippedParcel]) -> list[ShippedParcel]:
        """Handed over in the period and not cancelled (a set of the month's days keeps this in C)."""
        first, days = self.period.first_day, (self.period.next_first_day - self.period.first_day).days
        month = {first + timedelta(days=i) for i in range(days)}
        handed_over = compress(shipments, map(month.__contains__, map(_accepted_on, shipments)))
        return [s for s in handed_over if not s.cancelled]

    def _judge_lines(self, statement: Statement, by_waybill: dict[str, ShippedParcel]) -> Findings:
        """One finding per line as if no waybill repeated; C-level map() calls, Python only per distinct
        (line content, shipment profile), as a million lines hold a few thousand of those."""
        shipments = list(map(by_waybill.get, statement.waybills, repeat(_NOT_OURS)))
        keys = zip(map(id, statement.fields), map(_profile, shipments), strict=True)
        fields_by_id = {id(f): f for f in dict.fromkeys(statement.fields)}
        judgements = _Judgements(lambda key: self._judge(fields_by_id[key[0]], key[1]))
        return Findings(
            list(statement.waybills),
            list(map(_department, shipments)),
            list(statement.line_nos),
            list(map(judgements.__getitem__, keys)),
        )

    def _settle_duplicates(self, statement, findings, first_index, by_waybill) -> None:
        waybills, fields = statement.waybills, statement.fields
        repeats: dict[str, list[int]] = {}
        firsts = map(first_index.__getitem__, waybills)
        for i in compress(range(len(waybills)), map(ne, firsts, range(len(waybills)))):
            repeats.setdefault(waybills[i], [first_index[waybills[i]]]).append(i)
        for waybill_no, indexes in repeats.items():
            chosen = min(indexes, key=lambda i: (fields[i].accepted_on, fields[i].billed_fen, fields[i], i))
            s = by_waybill.get(waybill_no, _NOT_OURS)
            for i in indexes:
                if i == chosen:
                    judgement = self._judge(fields[i], _profile(s))
                else:
                    judgement = self._duplicate(fields[i], statement.line_nos[chosen])
                findings[i] = Finding(waybill_no, _department(s), statement.line_nos[i], *judgement)

    # ---- judgements ---------------------------------------------------------------------------------

    def _judge(self, fields: LineFields, profile: tuple) -> Judgement:
        if profile == _NOT_OURS_PROFILE:
            return self._billed_for_nothing(fields, Code.UNKNOWN_WAYBILL, "我方没有寄出过这个邮件号")
        s = _Profile(*profile)
        billed = fields.billed_fen
        if s.cancelled:
            return self._billed_for_nothing(fields, Code.CANCELLED_BUT_BILLED, "该邮件已取消，不应计费")
        if fields.accepted_on not in self.period:
            note = f"收寄日期 {fields.accepted_on} 不属于 {self.period} 账期"
            return self._billed_for_nothing(fields, Code.OUT_OF_PERIOD, note)
        version, note = self._version(s.accepted_on or fields.accepted_on)
        zone = version.zone_for(self.origin, s.province, s.city, s.county)
        ours = version.chargeable_weight_g(zone, s.weight_g)
        theirs = version.chargeable_weight_g(zone, fields.weight_g)
        basis = s.weight_g
        if theirs != ours:
            if abs(fields.weight_g - s.weight_g) > version.tolerance.weight_g:
                expected = version.fee_fen(zone, s.weight_g, s.declared_value_fen)
                detail = (
                    f"计费重量 {fields.weight_g} 克，我方称重 {s.weight_g} 克（计费 {ours} 克）；"
                    f"按资费应收 {yuan_text(expected)}{note}"
                )
                return self._priced(fields, Code.WEIGHT_MISMATCH, expected, detail, ours, zone.name)
            basis = fields.weight_g  # within the weight tolerance the carrier's scale is accepted
        expected = version.fee_fen(zone, basis, s.declared_value_fen)
        difference = billed - expected
        if abs(difference) <= version.tolerance.amount_fen:
            return self._priced(fields, Code.OK, expected, note.lstrip("；"), ours, zone.name)
        code = Code.OVERCHARGED if difference > 0 else Code.UNDERCHARGED
        word = "多收" if difference > 0 else "少收"
        detail = (
            f"{word} {yuan_text(abs(difference))}：{ZONE_NAMES[zone.name]}，计费 "
            f"{version.chargeable_weight_g(zone, basis)} 克，按资费应收 {yuan_text(expected)}{note}"
        )
        return self._priced(fields, code, expected, detail, ours, zone.name)

    def _version(self, day: date) -> tuple[TariffVersion, str]:
        version = self.tariff.version_on(day)
        if version is None:
            first = self.tariff.versions[0]
            return first, f"；{day} 尚无生效的资费版本，按 {first.effective_from} 版估算"
        return version, ""

    def _priced(self, fields, code, expected, detail, chargeable, zone) -> Judgement:
        billed = fields.billed_fen
        return (
            fields.accepted_on,
            code.value,
            billed,
            expected,
            billed - expected,
            detail,
            fields.weight_g,
            chargeable,
            zone,
        )

    def _billed_for_nothing(self, fields: LineFields, code: Code, detail: str) -> Judgement:
        billed = fields.billed_fen
        return (fields.accepted_on, code.value, billed, 0, billed, detail, fields.weight_g, None, None)

    def _duplicate(self, fields: LineFields, first_line_no: int) -> Judgement:
        return self._billed_for_nothing(fields, Code.DUPLICATE, f"与第 {first_line_no} 行重复计费")

    def _not_billed(self, s: ShippedParcel) -> Finding:
        version, note = self._version(s.accepted_on)
        zone = version.zone_for(self.origin, s.province, s.city, s.county)
        expected = version.fee_fen(zone, s.weight_g, s.declared_value_fen)
        detail = f"{s.accepted_on} 已交寄，对账单中没有这个邮件；按资费应收 {yuan_text(expected)}{note}"
        return Finding(
            s.waybill_no,
            s.department_code,
            None,
            s.accepted_on,
            Code.NOT_BILLED.value,
            0,
            expected,
            -expected,
            detail,
            None,
            version.chargeable_weight_g(zone, s.weight_g),
            zone.name,
        )
