"""Malicious and malformed .xlsx statements are refused quickly, in little memory, with a reason.

Each file is made in the test, small on disk (see bad_xlsx). The end-to-end tests send the same files to
the finance API and to `certpost reconcile`, and measure the process's peak memory there."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from reconciliation import StatementError
from reconciliation.statement import read_statement
from reconciliation.xlsx_guard import Limits

from . import bad_xlsx as bad
from .builders import LINES, xlsx_bytes

DIMENSION_BOMB = bad.sheet_xml('<row r="1"><c><v>1</v></c></row>').replace(
    b"<sheetData>", b'<dimension ref="A1:J3000000"/><sheetData>'
)
STYLES_BOMB, SHEET_BOMB = "xl/styles.xml 解压后超过 20 MB", "sheet1.xml 解压后超过 200 MB"
SPARSE = '<row r="1"><c{a}><v>1</v></c></row><row r="1999999"><c{b}><v>1</v></c></row>'
TOO_WIDE, BILLION = "sheet1.xml 第 1 行超过 100 列", "sheet1.xml 含有 DTD/实体声明"
CASES = {
    "styles.xml inflating to 1.5 GiB": (lambda: bad.inflating(bad.STYLES, 1536), STYLES_BOMB),
    "a sheet inflating to 300 MB": (lambda: bad.inflating(bad.SHEET, 300), SHEET_BOMB),
    "parts inflating to 300 MB together": (
        lambda: bad.inflating(bad.SHEET, 150, also={"xl/sharedStrings.xml": 150}),
        "解压后总大小超过 200 MB",
    ),
    "a sheet compressed 1000:1": (
        lambda: bad.inflating(bad.SHEET, 50),
        r"sheet1.xml 压缩比异常（\d+:1，上限 100:1）",
    ),
    "a size that lies": (
        lambda: bad.lying_about_size(bad.inflating(bad.SHEET, 50), bad.SHEET, 1024 * 1024),
        "sheet1.xml 已损坏",
    ),
    "billion laughs": (bad.billion_laughs, BILLION),
    "billion laughs in UTF-16": (lambda: bad.billion_laughs(encoding="utf-16"), BILLION),
    "a 2-million-cell row, deflated": (
        lambda: bad.wide_row(2_000_000, stored=False),
        "sheet1.xml 压缩比异常",
    ),
    "a 2-million-cell row, stored": (lambda: bad.wide_row(2_000_000, stored=True), TOO_WIDE),
    "a 2-million-cell row for openpyxl": (
        lambda: bad.no_cell_styles({bad.SHEET: bad.wide_row_xml(2_000_000)}),
        TOO_WIDE,
    ),
    "a cell past the column cap": (
        lambda: bad.replaced({bad.SHEET: bad.sheet_xml('<row r="1"><c r="XFD1"><v>1</v></c></row>')}),
        "第 1 行超过 100 列",
    ),
    "a row past the row cap": (
        lambda: bad.replaced({bad.SHEET: bad.sheet_xml('<row r="2000001"><c><v>1</v></c></row>')}),
        "超过 2000000 行",
    ),
    "a dimension past the row cap": (lambda: bad.replaced({bad.SHEET: DIMENSION_BOMB}), "超过 2000000 行"),
    "not a zip": (lambda: b"PK\x03\x04 and then nothing a zip has", r"不是有效的 \.xlsx 文件"),
    "no worksheet": (lambda: bad.replaced({}, drop={bad.SHEET}), "找不到工作表"),
    "bad XML in the sheet": (
        lambda: bad.replaced({bad.SHEET: bad.sheet_xml('<row r="1"><c><v>1</v></row>')}),
        r"sheet1\.xml 不是有效的 XML",
    ),
    "too many members": (lambda: bad.many_members(1_001), "压缩包内文件过多（1001 个，上限 1000 个）"),
    # calamine builds the grid from the first used cell to the last: two cells 200 million apart
    "a sparse grid, as Excel writes cells": (
        lambda: bad.replaced({bad.SHEET: bad.sheet_xml(SPARSE.format(a=' r="A1"', b=' r="CV1999999"'))}),
        r"sheet1\.xml 的单元格分布异常（1999999 行 × 100 列",
    ),
    "a sparse grid, a cell without its reference": (
        lambda: bad.replaced({bad.SHEET: bad.sheet_xml(SPARSE.format(a="", b=' r="CV1999999"'))}),
        r"sheet1\.xml 的单元格分布异常（1999999 行 × 100 列",
    ),
    "a cell below every row": (
        lambda: bad.replaced({bad.SHEET: bad.sheet_xml('<row r="1"><c r="A2000001"><v>1</v></c></row>')}),
        "超过 2000000 行",
    ),
    "a cell past the column cap, as Excel writes cells": (
        lambda: bad.replaced(
            {bad.SHEET: bad.sheet_xml('<row r="7"><c r="A7"><v>1</v></c><c r="CW7"/></row>')}
        ),
        "第 7 行超过 100 列",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_xlsx_is_refused_quickly_in_little_memory_naming_what_is_wrong(case):
    make, message = CASES[case]
    data = make()
    assert len(data) < 10 * 1024 * 1024  # small on disk, whatever it inflates to
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(StatementError, match=f"^XLSX 文件异常：.*{message}") as error:
            read_statement(data, filename="statement.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 10
    assert peak < 50 * 1024 * 1024, f"{peak / 1e6:.0f} MB"
    assert error.value.errors == [("statement", str(error.value))]  # a file error, no row to name


def test_caps_are_configurable():
    with pytest.raises(StatementError, match="超过 5 行"):
        read_statement(xlsx_bytes(), filename="s.xlsx", limits=Limits(max_rows=5))
    with pytest.raises(StatementError, match=r"sharedStrings\.xml 的字符串超过 3 个"):
        read_statement(_with_shared_strings(5), filename="s.xlsx", limits=Limits(max_shared_strings=3))
    with pytest.raises(StatementError, match="第 2 行超过 5 列"):
        read_statement(xlsx_bytes(), filename="s.xlsx", limits=Limits(max_columns=5))


def _with_shared_strings(n: int) -> bytes:
    import io
    import zipfile

    base = xlsx_bytes()
    types = zipfile.ZipFile(io.BytesIO(base)).read("[Content_Types].xml").decode()
    kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    types = types.replace(
        "</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{kind}"/></Types>'
    )
    strings = "".join(f"<si><t>{i}</t></si>" for i in range(n))
    sst = f'<?xml version="1.0"?><sst xmlns="{bad.MAIN_NS}">{strings}</sst>'
    return bad.replaced(
        {"[Content_Types].xml": types.encode(), "xl/sharedStrings.xml": sst.encode()}, base=base
    )


def test_a_good_statement_reads_within_the_default_caps():
    assert len(read_statement(xlsx_bytes(), filename="s.xlsx").waybills) == len(LINES)


def test_the_caps_come_from_the_settings():
    from logistics.config import Settings
    from logistics.reconcile_engine import limits_of

    settings = Settings(statement_max_rows=5, statement_max_uncompressed_mb=10, statement_max_columns=7)
    limits = limits_of(settings)
    assert (limits.max_rows, limits.max_columns) == (5, 7)
    assert limits.max_uncompressed_bytes == limits.max_part_bytes == 10 * 1024 * 1024
    with pytest.raises(StatementError, match="超过 5 行"):
        read_statement(xlsx_bytes(), filename="s.xlsx", limits=limits)
