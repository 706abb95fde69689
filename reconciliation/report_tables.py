"""CSV and XLSX reports. Text cells that a spreadsheet would run as a formula are neutralised."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from logistics.domain.money import yuan

from .engine import Result
from .findings import Finding
from .wording import CODE_NAMES, ZONE_NAMES

FINDING_COLUMNS = (
    "邮件号",
    "结果代码",
    "结果",
    "部门",
    "对账单行号",
    "收寄日期",
    "对账单计费重量(克)",
    "我方计费重量(克)",
    "区域",
    "应收(元)",
    "按资费应收(元)",
    "差额(元)",
    "说明",
)
DEPARTMENT_COLUMNS = ("部门", "计费件数", "计费金额(元)", "按资费应收(元)", "未计费件数")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_FIXED_STAMP = "2000-01-01T00:00:00Z"


def safe_text(value: str) -> str:
    """A leading apostrophe keeps Excel and LibreOffice from running the cell as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_report(result: Result) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FINDING_COLUMNS)
    for row in _finding_rows(result.findings):
        writer.writerow(_csv_cell(v) for v in row)
    # UTF-8 with BOM: Excel opens it with the Chinese intact
    return out.getvalue().encode("utf-8-sig")


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = str(value)
    return text if _PLAIN_NUMBER.match(text) else safe_text(text)


def xlsx_report(result: Result) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)

    def sheet(title: str, header: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
        ws = book.create_sheet(title)
        ws.append(list(header))
        for row in rows:
            cells = []
            for value in row:
                if isinstance(value, str):
                    value = safe_text(value)
                cell = WriteOnlyCell(ws, value)
                if isinstance(value, Decimal):
                    cell.number_format = "0.00"
                cells.append(cell)
            ws.append(cells)

    t = result.totals
    sheet(
        "汇总",
        ("项目", "值"),
        [
            ("账期", result.period),
            ("对账单", result.statement.filename),
            ("明细行数", t.lines),
            ("本期交寄件数", t.shipments_of_period),
            ("应收合计(元)", _yuan(t.billed_fen)),
            ("按资费应收(元)", _yuan(t.expected_fen)),
            ("差额(元)", _yuan(t.difference_fen)),
            ("申请退还(元)", _yuan(t.disputed_fen)),
            *((CODE_NAMES[code], n) for code, n in t.codes.items()),
            *(("提示", w) for w in result.warnings),
        ],
    )
    sheet("差异明细", FINDING_COLUMNS, _finding_rows(result.findings))
    sheet(
        "部门分摊",
        DEPARTMENT_COLUMNS,
        (
            (d.department_code, d.parcels, _yuan(d.amount_fen), _yuan(d.expected_fen), d.not_billed)
            for d in result.departments
        ),
    )
    sheet("争议清单", FINDING_COLUMNS, _finding_rows(result.disputes))
    out = io.BytesIO()
    book.save(out)
    return _frozen_zip(out.getvalue())


def _finding_rows(findings: Iterable[Finding]) -> Iterator[tuple]:
    for f in findings:
        yield (
            f.waybill_no,
            f.code,
            CODE_NAMES[f.code],
            f.department_code,
            f.line_no,
            f.accepted_on.isoformat() if f.accepted_on else None,
            f.billed_weight_g,
            f.chargeable_weight_g,
            ZONE_NAMES.get(f.zone or "", ""),
            _yuan(f.billed_fen),
            _yuan(f.expected_fen),
            _yuan(f.difference_fen),
            f.detail,
        )


def _yuan(fen: int) -> Decimal:
    return Decimal(yuan(fen))


def _frozen_zip(data: bytes) -> bytes:
    """The same result gives the same bytes: fixed entry times and document dates."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + _FIXED_STAMP.encode(), body
                )
            dst.writestr(
                zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)),
                body,
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()
