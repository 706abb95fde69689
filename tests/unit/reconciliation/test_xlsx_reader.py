"""XLSX statements read by calamine come out as the lines openpyxl's rows make (openpyxl is the oracle)."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from reconciliation import StatementError, cells, default_tariff, reconcile, xlsx
from reconciliation.statement import _collect_xlsx, read_statement
from reconciliation.statement_layout import accepted_headers

from .builders import HEADER, LINES, ORIGIN, SHIPMENTS, xlsx_bytes


def _workbook_bytes(rows, *, write_only=False, date_format=None) -> bytes:
    """write_only=True writes inline strings; the normal mode writes a shared-string table."""
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("对账单") if write_only else book.active
    for row in rows:
        sheet.append(row)
    if date_format and not write_only:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, date | datetime):
                    cell.number_format = date_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _openpyxl_rows(data: bytes) -> list[tuple]:
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


def _statement_rows(*, numeric=True, day_as=date, title=True, totals=True, gaps=False):
    rows = []
    if title:
        rows += [["安福县政务服务中心 2026年10月 EMS 对账单"], ["客户号：36082900001", None, "第 1 页"]]
    if gaps:
        rows.append([])
    rows.append(HEADER)
    for i, line in enumerate(LINES):
        waybill = int(line[0]) if numeric else f"'{line[0]}"
        day = date.fromisoformat(line[1])
        when = {date: day, datetime: datetime(day.year, day.month, day.day, 13, 20), str: line[1]}[day_as]
        money = [float(v) for v in line[6:]]
        rows.append([waybill, when, *line[2:5], int(line[5]) if i % 2 else line[5], *money])
        if gaps and i == 3:
            rows.append([None, None, None])
    if totals:
        rows.append(["合计", None, None, None, None, None, None, None, None, 109.5])
        rows.append(["制表人：张三"])
    return rows


CASES = {
    "numeric waybills, shared strings, dates as serials": dict(numeric=True, day_as=date),
    "text waybills, date-times": dict(numeric=False, day_as=datetime),
    "dates as text": dict(numeric=True, day_as=str),
    "no title, no totals": dict(title=False, totals=False),
    "empty rows and short rows": dict(gaps=True),
}


def _openpyxl_statement(data: bytes):
    """The statement as the same collector makes it from openpyxl's rows."""
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return _collect_xlsx(
            sheet.iter_rows(values_only=True), None, "statement", accepted_headers(None), None
        )
    finally:
        book.close()


@pytest.mark.parametrize("write_only", [False, True], ids=["shared-strings", "inline-strings"])
@pytest.mark.parametrize("case", CASES)
def test_statement_is_the_one_openpyxls_rows_make(case, write_only):
    data = _workbook_bytes(_statement_rows(**CASES[case]), write_only=write_only, date_format="yyyy/m/d")
    read = read_statement(data)
    assert read == _openpyxl_statement(data)
    shape = CASES[case]
    header_row = (3 if shape.get("title", True) else 1) + bool(shape.get("gaps"))
    assert read.waybills[0] == LINES[0][0] and read.header_row == header_row


def test_rows_start_at_a1_when_the_sheet_starts_further_in():
    book = Workbook()
    sheet = book.active
    for i, row in enumerate(_statement_rows(title=False, totals=False)):
        for j, value in enumerate(row):
            sheet.cell(3 + i, 3 + j, value)
    out = io.BytesIO()
    book.save(out)
    read = read_statement(out.getvalue())
    assert read.header_row == 3 and read.line_nos[0] == 4
    assert read == _openpyxl_statement(out.getvalue())


def test_custom_date_format_and_1904_calendar():
    book = Workbook()
    book.epoch = datetime(1904, 1, 1)  # the Mac calendar: serials count from 1904
    sheet = book.active
    sheet.append(["收寄日期", "x"])
    sheet.append([datetime(2026, 10, 5), 45000])
    sheet["A2"].number_format = 'yyyy"年"m"月"d"日"'
    out = io.BytesIO()
    book.save(out)
    rows = list(xlsx.first_sheet(out.getvalue()).rows())
    assert cells.day(rows[1][0]) == date(2026, 10, 5) and rows[1][1] == 45000


def test_the_builders_files_reconcile_alike():
    tariff = default_tariff()
    data = xlsx_bytes()
    read = reconcile(data, period="2026-10", tariff=tariff, origin=ORIGIN, shipments=SHIPMENTS)
    assert [f.code for f in read.findings][:3] == ["ok", "overcharged", "undercharged"]
    assert read_statement(data) == _openpyxl_statement(data)


def test_a_file_that_is_not_a_zip_is_refused_before_any_reader():
    with pytest.raises(StatementError, match=r"不是有效的 \.xlsx"):
        read_statement(b"PK\x03\x04 not really a zip", filename="x.xlsx")
