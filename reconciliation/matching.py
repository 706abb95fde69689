"""Matching statement lines with our shipments, in both directions, into one finding each.

Order of the findings: the statement's lines in file order, then the unbilled shipments by waybill number.
Of several lines with one waybill number, the one judged normally is the earliest by 收寄日期 (then the
lowest amount, then the content); the others are `duplicate`. So the findings do not depend on line order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .findings import UNKNOWN_DEPARTMENT, Code, Finding
from .statement import LineFields, StatementLine
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


# A judgement is a finding without the waybill, department and row: lines with the same content and
# the same kind of shipment share one. Field order follows Finding from accepted_on on.
Judgement = tuple


class Matcher:
    def __init__(self, tariff: Tariff, origin: Origin, period: Period):
        self.tariff, self.origin, self.period = tariff, origin, period
        self._judged: dict[tuple, Judgement] = {}
        self.shipments_of_period = 0

    def match(self, lines: list[StatementLine], shipments: Iterable[ShippedParcel]) -> list[Finding]:
        by_waybill: dict[str, ShippedParcel] = {}
        of_period: list[ShippedParcel] = []
        period = self.period
        for s in shipments:
            by_waybill[s.waybill_no] = s
            if s.accepted_on is not None and not s.cancelled and s.accepted_on in period:
                of_period.append(s)
        findings, first_line = self._judge_lines(lines, by_waybill)
        self._settle_duplicates(lines, findings, first_line, by_waybill)
        unbilled = sorted(
            (s for s in of_period if s.waybill_no not in first_line), key=lambda s: s.waybill_no
        )
        findings.extend(self._not_billed(s) for s in unbilled)
        self.shipments_of_period = len(of_period)
        return findings

    def _judge_lines(self, lines, by_waybill):
        new = tuple.__new__
        shipment_of = by_waybill.get
        judged = self._judged
        first_line: dict[str, int] = {}
        first_of = first_line.setdefault
        findings: list = []
        append = findings.append
        for index, (line_no, waybill_no, fields) in enumerate(lines):
            if first_of(waybill_no, index) != index:
                append(None)  # a repeat: settled once every line of the waybill is known
                continue
            s = shipment_of(waybill_no)
            if s is None:
                append(new(Finding, (waybill_no, UNKNOWN_DEPARTMENT, line_no, *self._unknown(fields))))
                continue
            # id(): the lines keep every LineFields alive, and hashing the tuple each time is slow
            key = (
                id(fields),
                s.weight_g,
                s.declared_value_fen,
                s.province,
                s.city,
                s.county,
                s.accepted_on,
                s.cancelled,
            )
            judgement = judged.get(key)
            if judgement is None:
                judgement = judged[key] = self._judge(fields, s)
            append(new(Finding, (waybill_no, s.department_code, line_no, *judgement)))
        return findings, first_line

    def _settle_duplicates(self, lines, findings, first_line, by_waybill) -> None:
        repeats: dict[str, list[int]] = {}
        for index, finding in enumerate(findings):
            if finding is None:
                waybill_no = lines[index].waybill_no
                repeats.setdefault(waybill_no, [first_line[waybill_no]]).append(index)
        for waybill_no, indexes in repeats.items():
            chosen = min(
                indexes,
                key=lambda i: (lines[i].fields.accepted_on, lines[i].fields.billed_fen, lines[i].fields, i),
            )
            s = by_waybill.get(waybill_no)
            department = s.department_code if s else UNKNOWN_DEPARTMENT
            for i in indexes:
                line_no, _, fields = lines[i]
                if i == chosen:
                    judgement = self._unknown(fields) if s is None else self._judge(fields, s)
                else:
                    judgement = self._duplicate(fields, lines[chosen].line_no)
                findings[i] = Finding(waybill_no, department, line_no, *judgement)

    # ---- judgements ---------------------------------------------------------------------------------

    def _judge(self, fields: LineFields, s: ShippedParcel) -> Judgement:
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

    def _unknown(self, fields: LineFields) -> Judgement:
        judgement = self._judged.get(fields)
        if judgement is None:
            judgement = self._judged[fields] = self._billed_for_nothing(
                fields, Code.UNKNOWN_WAYBILL, "我方没有寄出过这个邮件号"
            )
        return judgement

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
