"""Totals and the cost per department, with the tie-out that every fen of the statement is accounted for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .findings import Code, Finding


class TieOutError(RuntimeError):
    """The findings do not add up to the statement: a bug, never bad input."""


@dataclass(frozen=True)
class DepartmentShare:
    department_code: str
    parcels: int  # parcels billed (a duplicate line is not another parcel)
    amount_fen: int  # billed, every line including duplicates: the shares add up to the statement
    expected_fen: int  # by the tariff, including parcels EMS did not bill
    not_billed: int


@dataclass(frozen=True)
class Totals:
    billed_fen: int
    expected_fen: int
    difference_fen: int
    lines: int
    shipments_of_period: int
    disputed_fen: int
    codes: dict[str, int] = field(default_factory=dict)


def allocate(
    findings: Sequence[Finding], statement_billed_fen: int, statement_lines: int, shipments_of_period: int
) -> tuple[Totals, list[DepartmentShare]]:
    """(totals, departments sorted by code), checking the tie-out."""
    per_department: dict[str, list[int]] = {}
    codes = dict.fromkeys((c.value for c in Code), 0)
    duplicate, not_billed = Code.DUPLICATE.value, Code.NOT_BILLED.value
    disputed = 0
    for f in findings:
        code = f[4]
        codes[code] += 1
        share = per_department.get(f[1])
        if share is None:
            share = per_department[f[1]] = [0, 0, 0, 0]
        share[1] += f[5]
        share[2] += f[6]
        if code == not_billed:
            share[3] += 1
        elif code != duplicate:
            share[0] += 1
        if f[7] > 0 and f.disputed:
            disputed += f[7]
    departments = [DepartmentShare(code, *share) for code, share in sorted(per_department.items())]
    billed = sum(d.amount_fen for d in departments)
    expected = sum(d.expected_fen for d in departments)
    lines = len(findings) - codes[not_billed]
    if billed != statement_billed_fen or lines != statement_lines:
        raise TieOutError(
            f"findings bill {billed} fen over {lines} lines, "
            f"the statement {statement_billed_fen} fen over {statement_lines}"
        )
    totals = Totals(billed, expected, billed - expected, lines, shipments_of_period, disputed, codes)
    return totals, departments
