"""Matching statement lines with our shipments, in both directions, into one finding each.

Order of the findings: the statement's lines in file order, then the unbilled shipments by waybill number.
Of several lines with one waybill number, the one judged normally is the earliest by 收寄日期 (then the
lowest amount, then the content); the others are `duplicate`. So the findings do not depend on line order.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain, compress, repeat
from operator import attrgetter, itemgetter, ne
from typing import NamedTuple

import numpy as np

from logistics.domain.hall import Hall
from logistics.domain.shipped import ShippedParcel

from .digits import int_column
from .findings import UNKNOWN_DEPARTMENT, Code, Finding, Findings
from .statement import LineFields, Statement
from .tariff import Tariff, TariffVersion
from .wording import ZONE_NAMES, yuan_text


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


class _Interner(dict):
    """Numbers each new key in order of arrival."""

    def __missing__(self, key):
        value = self[key] = len(self)
        return value


_kind = attrgetter("department_code", *_Profile._fields)  # what a line's finding needs from its shipment


def int_keys(side: Sequence[str]) -> list[int] | None:
    """The waybill numbers as ints when all of them are plain digits without a leading zero (then the
    mapping is one to one), else None: int keys hash to themselves, and consecutive numbers sit side by
    side in a dictionary, which makes a million look-ups several times faster than with strings."""
    joined = "\n".join(side)
    digits = joined.replace("\n", "")
    if not (digits.isascii() and digits.isdigit()):  # also when there are none
        return None
    if joined[0] in "0\n" or joined[-1] == "\n" or "\n\n" in joined or "\n0" in joined:
        return None  # an empty waybill, or a leading zero
    column = int_column(joined.encode("ascii"), len(side))
    if column is not None:
        return column.tolist()
    try:
        return list(map(int, side))
    except ValueError:  # beyond int's digit limit, or a line break inside a waybill
        return None


def repeats(keys: Sequence) -> list[list[int]]:
    """The lines sharing a waybill number: per number, the index of its first line then the others."""
    first_index = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
    if len(first_index) == len(keys):
        return []
    found: dict[object, list[int]] = {}
    firsts = map(first_index.__getitem__, keys)
    for i in compress(range(len(keys)), map(ne, firsts, range(len(keys)))):
        found.setdefault(keys[i], [first_index[keys[i]]]).append(i)
    return list(found.values())


@dataclass
class PreparedShipments:
    """The shipments' side of matching, which does not need the statement (see Matcher.prepare)."""

    shipments: list[ShippedParcel]
    waybills: list[str]
    int_keys: list[int] | None
    index: dict  # key -> index of the last shipment with that waybill number; int keys when int_keys
    kinds: list[tuple]  # kind 0 is "not ours"
    kind_of: np.ndarray  # per shipment, then 0 for "not ours" at index len(shipments)
    of_period: np.ndarray  # indexes of shipments


class Matcher:
    def __init__(self, tariff: Tariff, origin: Hall, period: Period):
        self.tariff, self.origin, self.period = tariff, origin, period
        self.shipments_of_period = 0
        self._unbilled_prices: dict[tuple, tuple] = {}
        self._zones: dict[tuple, object] = {}  # (version, place) -> zone: thousands of judgements, few places
        self._versions: dict[date, tuple[TariffVersion, str]] = {}

    def prepare(
        self, shipments: Iterable[ShippedParcel], poll: Callable[[], object] | None = None
    ) -> PreparedShipments:
        """What matching needs from the shipments alone; `poll` is called between steps (the engine
        relays the statement reader's progress while it runs in another process)."""
        poll = poll or (lambda: None)
        shipments = list(shipments)
        waybills = list(map(_by_waybill, shipments))
        ints = int_keys(waybills)
        poll()
        keys = waybills if ints is None else ints
        index = dict(zip(keys, range(len(shipments)), strict=True))  # of the last shipment of each number
        poll()
        kinds = _Interner()
        kinds[(UNKNOWN_DEPARTMENT, *_NOT_OURS_PROFILE)]
        kind_of = map(kinds.__getitem__, map(_kind, shipments))
        kind_of = np.fromiter(chain(kind_of, (0,)), np.int64, len(shipments) + 1)
        poll()
        kinds = list(kinds)
        of_period = self._of_period(shipments, index, keys, kinds, kind_of)
        poll()
        return PreparedShipments(shipments, waybills, ints, index, kinds, kind_of, of_period)

    def match(
        self,
        statement: Statement,
        shipments: Iterable[ShippedParcel] | PreparedShipments,
        later_repeats: Callable[[], list[list[int]] | None] | None = None,
    ) -> Findings:
        """`later_repeats`, if given, may supply `repeats` of the lines once they are judged."""
        ready = shipments if isinstance(shipments, PreparedShipments) else self.prepare(shipments)
        shipments, index, n = ready.shipments, ready.index, len(ready.shipments)
        line_keys = None
        if ready.int_keys is not None:
            line_keys = statement.int_waybills
            if line_keys is None:
                line_keys = int_keys(statement.waybills)
        if line_keys is None:  # string keys on both sides
            line_keys = statement.waybills
            if ready.int_keys is not None:
                index = dict(zip(ready.waybills, range(n), strict=True))
        line_index = np.fromiter(map(index.get, line_keys, repeat(n)), np.int64, len(line_keys))
        findings = self._judge_lines(statement, line_index, ready.kinds, ready.kind_of)
        found = later_repeats() if later_repeats is not None else None
        if found is None:
            found = repeats(line_keys)
        if found:
            self._settle_duplicates(statement, findings, found)
        of_period = ready.of_period
        billed = np.zeros(n + 1, dtype=bool)
        billed[line_index] = True
        unbilled = sorted(map(shipments.__getitem__, of_period[~billed[of_period]].tolist()), key=_by_waybill)
        for s in unbilled:
            findings.append(self._not_billed(s))
        self.shipments_of_period = len(of_period)
        return findings

    def _of_period(self, shipments: list, index: dict, keys: list, kinds: list, kind_of) -> np.ndarray:
        """Indexes of the shipments handed over in the period and not cancelled, the last of each waybill
        number. Handover day and cancellation are part of a shipment's kind: decided once per kind."""
        first, days = self.period.first_day, (self.period.next_first_day - self.period.first_day).days
        month = {first + timedelta(days=i) for i in range(days)}
        live = np.array([kind[6] in month and not kind[7] for kind in kinds])  # accepted_on, cancelled
        chosen = np.flatnonzero(live[kind_of[: len(shipments)]])
        if len(index) < len(shipments):  # repeated waybill numbers: the last shipment stands
            chosen = np.array([i for i in chosen.tolist() if index[keys[i]] == i], dtype=np.int64)
        return chosen

    def _judge_lines(
        self, statement: Statement, line_index: np.ndarray, kinds: list[tuple], kind_of: np.ndarray
    ) -> Findings:
        """One finding per line as if no waybill repeated: array operations per line, Python only per
        distinct (line content, kind of shipment), as a million lines hold a few thousand of those."""
        fields_table, field_ids = statement.field_table()
        width = len(kinds)
        pairs = np.asarray(field_ids, dtype=np.int64) * width + kind_of[line_index]
        distinct, counts = np.unique(pairs, return_counts=True)
        groups = array("q", np.searchsorted(distinct, pairs).astype(np.int64).tobytes())
        # a judgement does not depend on the department: shared by the kinds with the same profile
        profiles = _Interner()
        profile_of = list(map(profiles.__getitem__, map(itemgetter(slice(1, None)), kinds)))
        profile_list = list(profiles)
        shared = _Judgements(lambda key: self._judge(fields_table[key[0]], profile_list[key[1]]))
        fields_of_group, kind_of_group = (column.tolist() for column in np.divmod(distinct, width))
        department_of = list(map(list(map(itemgetter(0), kinds)).__getitem__, kind_of_group))
        profile_of_group = map(profile_of.__getitem__, kind_of_group)
        judgement_of = list(map(shared.__getitem__, zip(fields_of_group, profile_of_group, strict=True)))
        return Findings.of_lines(
            statement.waybills, statement.line_nos, groups, department_of, judgement_of, counts.tolist()
        )

    def _settle_duplicates(self, statement: Statement, findings: Findings, found: list[list[int]]) -> None:
        """The line chosen of each repeated waybill keeps its finding (its shipment is the others' too)."""
        fields, line_nos = statement.fields, statement.line_nos
        for indexes in found:
            chosen = min(indexes, key=lambda i: (fields[i].accepted_on, fields[i].billed_fen, fields[i], i))
            for i in indexes:
                if i != chosen:
                    findings.rejudge(i, self._duplicate(fields[i], line_nos[chosen]))

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
        zone = self._zone(version, s.province, s.city, s.county)
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

    def _zone(self, version: TariffVersion, province: str, city: str, county: str):
        key = (id(version), province, city, county)  # versions live as long as the tariff
        zone = self._zones.get(key)
        if zone is None:
            zone = self._zones[key] = version.zone_for(self.origin, province, city, county)
        return zone

    def _version(self, day: date) -> tuple[TariffVersion, str]:
        known = self._versions.get(day)
        if known is None:
            known = self._versions[day] = self._version_uncached(day)
        return known

    def _version_uncached(self, day: date) -> tuple[TariffVersion, str]:
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
        key = (s.accepted_on, s.weight_g, s.declared_value_fen, s.province, s.city, s.county)
        priced = self._unbilled_prices.get(key)
        if priced is None:
            version, note = self._version(s.accepted_on)
            zone = self._zone(version, s.province, s.city, s.county)
            expected = version.fee_fen(zone, s.weight_g, s.declared_value_fen)
            detail = f"{s.accepted_on} 已交寄，对账单中没有这个邮件；按资费应收 {yuan_text(expected)}{note}"
            chargeable = version.chargeable_weight_g(zone, s.weight_g)
            priced = self._unbilled_prices[key] = (expected, detail, chargeable, zone.name)
        expected, detail, chargeable, zone_name = priced
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
            chargeable,
            zone_name,
        )
