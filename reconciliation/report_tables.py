"""CSV and XLSX reports. Text cells that a spreadsheet would run as a formula are neutralised."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import repeat
from typing import BinaryIO

from logistics.domain.money import yuan

from .allocation import DepartmentShare
from .engine import Result
from .findings import Finding, Findings
from .report_json import plain, stitched
from .wording import CODE_NAMES, ZONE_NAMES

FINDING_COLUMNS = (
    "邮件号",
    "结果代码",
    "结果",
    "部门",
    "部门名称",
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
DEPARTMENT_COLUMNS = ("部门", "部门名称", "计费件数", "计费金额(元)", "按资费应收(元)", "未计费件数")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_FIXED_STAMP = datetime(2000, 1, 1)
CHUNK_LINES = 4_096  # findings per write


def safe_text(value: str) -> str:
    """A leading apostrophe keeps Excel and LibreOffice from running the cell as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_report(result: Result) -> bytes:
    out = io.BytesIO()
    write_csv(result, out)
    return out.getvalue()


def write_csv(result: Result, out: BinaryIO) -> None:
    """UTF-8 with BOM (Excel opens it with the Chinese intact), written CHUNK_LINES findings at a time."""
    out.write(_csv_line(FINDING_COLUMNS).encode("utf-8-sig"))
    findings = result.findings
    rest: Sequence[Finding] = findings
    if isinstance(findings, Findings) and findings.groups:
        for piece in _csv_line_pieces(result, findings):
            out.write(piece)
        rest = findings.added
    text = _CsvText()
    for start in range(0, len(rest), CHUNK_LINES):
        rows = _finding_rows(rest[start : start + CHUNK_LINES], result.department_name)
        out.write("".join(map(text.line, rows)).encode())


def _csv_line_pieces(result: Result, findings: Findings) -> Iterator[bytes]:
    """The statement's lines: per group the text around the waybill and the row, as for the JSON."""
    text, mids, tails = _CsvText(), [], []
    line_no = FINDING_COLUMNS.index("对账单行号")
    for department, judgement in zip(findings.department_of, findings.judgement_of, strict=True):
        (row,) = _finding_rows([Finding("", department, 0, *judgement)], result.department_name)
        mid, _, tail = text.line((*row[:line_no], _ROW_MARK, *row[line_no + 1 :])).partition(_ROW_MARK)
        mids.append(mid)  # ,code,…,department_name,
        tails.append(tail)  # ,accepted_on,…\r\n
    waybills, line_nos, groups = findings.waybills, findings.line_nos, findings.groups
    for start in range(0, len(groups), CHUNK_LINES):
        stop = min(start + CHUNK_LINES, len(groups))
        chunk_waybills = waybills[start:stop]
        if not plain("".join(chunk_waybills)):  # never from the readers; then each one through the writer
            chunk_waybills = [text.line((w,))[:-2] for w in chunk_waybills]
        lines = stitched(chunk_waybills, mids, line_nos[start:stop], tails, groups[start:stop])
        yield "".join(lines).encode()


_ROW_MARK = "\x00"  # where a line's row number goes; never in a cell (the readers refuse control characters)


class _CsvText:
    """CSV lines as text; each distinct value formatted once (a report repeats few of them)."""

    def __init__(self):
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")
        self.cells: dict[object, str] = {_ROW_MARK: _ROW_MARK}

    def line(self, row: Iterable[object]) -> str:
        cells = self.cells
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow([cells[v] if v in cells else self._cell(v) for v in row])
        return self.buffer.getvalue()

    def _cell(self, value: object) -> str:
        text = self.cells[value] = _csv_cell(value)
        return text


def _csv_line(cells: Iterable[object]) -> str:
    return _CsvText().line(cells)


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = str(value)
    return text if _PLAIN_NUMBER.match(text) else safe_text(text)


def xlsx_report(result: Result) -> bytes:
    out = io.BytesIO()
    write_xlsx(result, out)
    return out.getvalue()


def write_xlsx(result: Result, out: BinaryIO) -> None:
    """xlsxwriter in constant-memory mode: each row goes to a temporary file as it is written."""
    book = Book(out)
    t = result.totals
    book.sheet(
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
    book.sheet("差异明细", FINDING_COLUMNS, _finding_rows(result.findings, result.department_name))
    book.sheet(
        "部门分摊",
        DEPARTMENT_COLUMNS,
        map(_department_row, result.departments, repeat(result.department_name)),
    )
    book.sheet("争议清单", FINDING_COLUMNS, _finding_rows(result.disputes, result.department_name))
    book.close()


def _department_row(d: DepartmentShare, name: Callable[[str], str]) -> tuple:
    code = d.department_code
    return code, name(code), d.parcels, _yuan(d.amount_fen), _yuan(d.expected_fen), d.not_billed


class Book:
    """An xlsxwriter workbook for reports: constant memory, text never a formula, money as 0.00 numbers,
    and the same bytes for the same content (fixed document dates; xlsxwriter fixes the entry times)."""

    def __init__(self, out: BinaryIO | str):
        import xlsxwriter

        options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        self.book = xlsxwriter.Workbook(out, options)
        self.book.set_properties({"created": _FIXED_STAMP})
        self.money = self.book.add_format({"num_format": "0.00"})
        self.bold = self.book.add_format({"bold": True})

    def sheet(self, title: str, header: Iterable[str], rows: Iterable[Iterable[object]], widths=()) -> None:
        ws = self.book.add_worksheet(title)
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.write_row(0, 0, list(header), self.bold)
        write_string, write_number, money = ws.write_string, ws.write_number, self.money
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    write_string(r, c, safe_text(value))
                elif isinstance(value, Decimal):
                    write_number(r, c, float(value), money)
                else:
                    write_number(r, c, value)

    def close(self) -> None:
        self.book.close()


def _finding_rows(findings: Iterable[Finding], department_name: Callable[[str], str]) -> Iterator[tuple]:
    for f in findings:
        yield (
            f.waybill_no,
            f.code,
            CODE_NAMES[f.code],
            f.department_code,
            department_name(f.department_code),
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
