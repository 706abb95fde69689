"""The dispute list for EMS (争议清单): the disputed lines in the statement's own columns, then our finding,
the amount we accept, the amount claimed back and the evidence, as an XLSX to send with the month's claim.

A line is disputed when its finding is one that claims money back (duplicate, unknown waybill, cancelled,
out of period, weight mismatch, overcharged) and EMS billed more than we accept for it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

from logistics.domain.money import yuan

from .engine import Result
from .findings import Finding
from .report_tables import Book
from .statement_layout import DEFAULT_HEADERS
from .wording import CODE_NAMES, ZONE_NAMES

STATEMENT_COLUMNS = tuple(
    DEFAULT_HEADERS[name][0]
    for name in ("waybill_no", "accepted_on", "province", "city", "county", "weight_g",
                 "postage_fen", "insurance_fen", "other_fen", "billed_fen")
)  # fmt: skip
OUR_COLUMNS = (
    "对账单行号", "核对结论", "我方计费重量(克)", "区域", "按资费应收(元)", "申请退还(元)", "依据",
    "部门", "部门名称",
)  # fmt: skip
NOTE = "左侧为对账单原列，右侧为我方核对结果：按合同资费不应收取或多收的明细行，申请退还。"
COLUMNS = STATEMENT_COLUMNS + OUR_COLUMNS
SHEET = "争议清单"
WIDTHS = (16, 12, 10, 10, 10, 12, 10, 10, 12, 13, 10, 14, 16, 8, 15, 13, 60, 10, 26)


def write_disputes(result: Result, out: BinaryIO) -> None:
    book = Book(out)
    book.sheet(SHEET, COLUMNS, [*dispute_rows(result), *_total(result)], widths=WIDTHS)
    book.sheet(
        "说明",
        ("项目", "内容"),
        [
            ("账期", result.period),
            ("对账单", result.statement.filename),
            ("争议条数", len(result.disputes)),
            ("申请退还合计(元)", _yuan(result.totals.disputed_fen)),
            (
                "说明",
                "争议清单列出对账单中按合同资费不应收取或多收的明细行，左侧为对账单原列，右侧为我方核对结果。",
            ),
        ],
        widths=(18, 90),
    )
    book.close()


def dispute_rows(result: Result) -> Iterator[tuple]:
    """Per disputed finding: the statement's cells (as far as the run kept them), then ours."""
    for f in result.disputes:
        cells = result.dispute_lines.get(f.line_no) if f.line_no is not None else None
        if cells is not None:
            place = (cells.province, cells.city, cells.county)
            fees = (_yuan(cells.postage_fen), _yuan(cells.insurance_fen), _yuan(cells.other_fen))
        else:
            place, fees = (None, None, None), (None, None, None)
        yield (
            f.waybill_no,
            f.accepted_on.isoformat() if f.accepted_on else None,
            *place,
            f.billed_weight_g,
            *fees,
            _yuan(f.billed_fen),
            f.line_no,
            CODE_NAMES[f.code],
            f.chargeable_weight_g,
            ZONE_NAMES.get(f.zone or "", ""),
            _yuan(_accepted_fen(f)),
            _yuan(f.difference_fen),
            f.detail,
            f.department_code,
            result.department_name(f.department_code),
        )


def _accepted_fen(f: Finding) -> int:
    """What we accept to pay for the line (nothing for a duplicate or a waybill not ours)."""
    return f.billed_fen - f.difference_fen


def _total(result: Result) -> list[tuple]:
    disputes = result.disputes
    billed = sum(f.billed_fen for f in disputes)
    claimed = sum(f.difference_fen for f in disputes)
    blank = (None,) * (len(STATEMENT_COLUMNS) - 2)  # 合计 … 应收合计(元)
    tail = (None, f"{len(disputes)} 条", None, None, _yuan(billed - claimed), _yuan(claimed))
    return [("合计", *blank, _yuan(billed), *tail)]


def _yuan(fen: int) -> Decimal:
    return Decimal(yuan(fen))
