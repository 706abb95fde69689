"""Finding codes, their precedence, and the finding record itself."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, MutableSequence, Sequence
from datetime import date
from enum import StrEnum
from functools import partial
from itertools import chain
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
    """The findings; a Finding is made when asked for.

    First the statement's lines as columns: per line its waybill, row and group, a number that lines with
    the same department and judgement (the finding from `accepted_on` on) share, so a million-line result
    holds a few thousand judgements, not a million records. Then findings added one by one (the unbilled
    shipments, or findings read back), kept as they are.
    """

    def __init__(self, waybills: list[str], departments: list[str], line_nos: list, judgements: list[tuple]):
        """Findings given column by column."""
        self.waybills: Sequence[str] = []
        self.line_nos: Sequence[int] = []
        self.groups: MutableSequence[int] = []  # per line
        self.department_of: list[str] = []  # per group
        self.judgement_of: list[tuple] = []  # per group
        self.counts: list[int] = []  # lines per group
        heads = zip(waybills, departments, line_nos, strict=True)
        self.added = list(map(partial(tuple.__new__, Finding), map(add, heads, judgements)))

    @classmethod
    def of_lines(
        cls,
        waybills: Sequence[str],
        line_nos: Sequence[int],
        groups: MutableSequence[int],
        department_of: list[str],
        judgement_of: list[tuple],
        counts: list[int],
    ) -> Findings:
        """The statement's lines: per line its group; per group a department, a judgement and a count."""
        findings = cls([], [], [], [])
        findings.waybills, findings.line_nos, findings.groups = waybills, line_nos, groups
        findings.department_of, findings.judgement_of, findings.counts = department_of, judgement_of, counts
        return findings

    def __len__(self) -> int:
        return len(self.groups) + len(self.added)

    @overload
    def __getitem__(self, i: int) -> Finding: ...
    @overload
    def __getitem__(self, i: slice) -> list[Finding]: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        lines = len(self.groups)
        if not 0 <= i < lines:
            if i < 0:
                raise IndexError("findings index out of range")
            return self.added[i - lines]
        group = self.groups[i]
        return Finding(
            self.waybills[i], self.department_of[group], self.line_nos[i], *self.judgement_of[group]
        )

    def __iter__(self) -> Iterator[Finding]:
        groups = self.groups
        heads = zip(self.waybills, map(self.department_of.__getitem__, groups), self.line_nos, strict=True)
        lines = map(add, heads, map(self.judgement_of.__getitem__, groups))
        return chain(map(partial(tuple.__new__, Finding), lines), self.added)

    def append(self, finding: Finding) -> None:
        self.added.append(finding)

    def __setitem__(self, i: int, finding: Finding) -> None:
        if i < 0:
            i += len(self)
        if i >= len(self.groups):
            self.added[i - len(self.groups)] = finding
            return
        if (finding.waybill_no, finding.line_no) != (self.waybills[i], self.line_nos[i]):
            raise ValueError("a statement line keeps its waybill and row")
        self._regroup(i, finding.department_code, tuple(finding[3:]))

    def rejudge(self, i: int, judgement: tuple) -> None:
        """Another judgement for statement line i; its department stays."""
        self._regroup(i, self.department_of[self.groups[i]], judgement)

    def _regroup(self, i: int, department: str, judgement: tuple) -> None:
        """Line i alone in a new group (a few thousand duplicates at most)."""
        self.counts[self.groups[i]] -= 1
        self.groups[i] = len(self.counts)
        self.department_of.append(department)
        self.judgement_of.append(judgement)
        self.counts.append(1)

    def combinations(self) -> list[tuple[str, tuple, int]]:
        """(department, judgement, how many findings have both); a pair may come more than once."""
        added = Counter((f.department_code, tuple(f[3:])) for f in self.added)
        lines = zip(self.department_of, self.judgement_of, self.counts, strict=True)
        return [*(line for line in lines if line[2]), *((d, j, n) for (d, j), n in added.items())]
