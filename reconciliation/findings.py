"""Finding codes, their precedence, and the finding record itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from enum import StrEnum
from functools import partial
from operator import add
from typing import NamedTuple, overload


class Code(StrEnum):
    DUPLICATE = "duplicate"
    UNKNOWN_WAYBILL = "unknown_waybill"
    CANCELLED_BUT_BILLED = "cancelled_but_billed"
    OUT_OF_PERIOD = "out_of_period"
    WEIGHT_MISMATCH = "weight_mismatch"
    OVERCHARGED = "overcharged"
    UNDERCHARGED = "undercharged"
    NOT_BILLED = "not_billed"
    OK = "ok"


# When a line has several faults the first of these wins (CONTRACT.md); also the order of report sections.
PRECEDENCE = tuple(Code)

# Findings that claim money back from EMS when billed exceeds expected: the dispute list.
DISPUTABLE = frozenset(PRECEDENCE[:6])

UNKNOWN_DEPARTMENT = "UNKNOWN"  # where lines for waybills we never booked are allocated


class Finding(NamedTuple):
    """One invoice line or one unbilled shipment. Money in fen; difference = billed − expected."""

    waybill_no: str
    department_code: str
    line_no: int | None  # statement row; None for not_billed
    accepted_on: date | None  # the line's 收寄日期, or the shipment's handover date for not_billed
    code: str
    billed_fen: int
    expected_fen: int
    difference_fen: int
    detail: str
    billed_weight_g: int | None
    chargeable_weight_g: int | None  # ours, by the tariff
    zone: str | None

    @property
    def disputed(self) -> bool:
        return self.code in DISPUTABLE and self.difference_fen > 0


class Findings(Sequence[Finding]):
    """The findings as parallel columns; a Finding is made when asked for.

    Lines with the same content and the same kind of shipment share one judgement (the finding from
    `accepted_on` on), so a million-line result holds a million references, not a million records.
    """

    def __init__(
        self,
        waybills: list[str],
        departments: list[str],
        line_nos: list,
        judgements: list[tuple],
        groups: list | None = None,
    ):
        self.waybills, self.departments, self.line_nos, self.judgements = (
            waybills,
            departments,
            line_nos,
            judgements,
        )
        # Optional: a key per finding such that equal keys mean the same department and judgement, and
        # group_table[key] = (department, judgement); allocation then counts keys instead of pairs.
        self.groups = groups
        self.group_table: dict[object, tuple[str, tuple]] = {}

    def __len__(self) -> int:
        return len(self.waybills)

    @overload
    def __getitem__(self, i: int) -> Finding: ...
    @overload
    def __getitem__(self, i: slice) -> list[Finding]: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return Finding(self.waybills[i], self.departments[i], self.line_nos[i], *self.judgements[i])

    def __iter__(self) -> Iterator[Finding]:
        heads = zip(self.waybills, self.departments, self.line_nos, strict=True)
        return map(partial(tuple.__new__, Finding), map(add, heads, self.judgements))

    def append(self, finding: Finding) -> None:
        self.waybills.append(finding.waybill_no)
        self.departments.append(finding.department_code)
        self.line_nos.append(finding.line_no)
        self.judgements.append(tuple(finding[3:]))
        self._regroup(None, finding)

    def __setitem__(self, i: int, finding: Finding) -> None:
        self.departments[i] = finding.department_code
        self.judgements[i] = tuple(finding[3:])
        self._regroup(i, finding)

    def _regroup(self, i: int | None, finding: Finding) -> None:
        if self.groups is None:
            return
        key = (finding.department_code, tuple(finding[3:]))
        self.group_table[key] = key
        if i is None:
            self.groups.append(key)
        else:
            self.groups[i] = key
