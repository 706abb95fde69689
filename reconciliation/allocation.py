"""Totals and the cost per department, with the tie-out that every fen of the statement is accounted for."""

from __future__ import annotations

from dataclasses import dataclass, field

from .findings import DISPUTABLE, Code, Findings


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
    findings: Findings, statement_billed_fen: int, statement_lines: int, shipments_of_period: int
) -> tuple[Totals, list[DepartmentShare]]:
    """(totals, departments sorted by code), checking the tie-out."""
    per_department: dict[str, list[int]] = {}
    codes = dict.fromkeys((c.value for c in Code), 0)
    disputed = 0
    # Summed over the (few thousand) distinct combinations, each with its count.
    for department, judgement, n in findings.combinations():
        code, billed, expected = judgement[1:4]
        codes[code] += n
        share = per_department.setdefault(department, [0, 0, 0, 0])
        share[0] += n if code not in (Code.DUPLICATE, Code.NOT_BILLED) else 0
        share[1] += billed * n
        share[2] += expected * n
        share[3] += n if code == Code.NOT_BILLED else 0
        if code in DISPUTABLE and billed > expected:
            disputed += (billed - expected) * n
    departments = [DepartmentShare(code, *share) for code, share in sorted(per_department.items())]
    billed = sum(d.amount_fen for d in departments)
    expected = sum(d.expected_fen for d in departments)
    lines = len(findings) - codes[Code.NOT_BILLED]
    if billed != statement_billed_fen or lines != statement_lines:
        raise TieOutError(
            f"findings bill {billed} fen over {lines} lines, "
            f"the statement {statement_billed_fen} fen over {statement_lines}"
        )
    totals = Totals(billed, expected, billed - expected, lines, shipments_of_period, disputed, codes)
    return totals, departments
