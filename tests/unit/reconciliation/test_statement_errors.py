"""A bad statement names the row (as Excel shows it) and the column, and never shows a traceback."""

from __future__ import annotations

import pytest

from reconciliation import StatementError
from reconciliation.statement import read_statement

from .builders import LINES, csv_text, xlsx_bytes


def _with(row: int, column: int, value: str):
    lines = [list(line) for line in LINES]
    lines[row][column] = value
    return [tuple(line) for line in lines]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            _with(8, 9, "abc"),
            '第 12 行 应收合计(元): 不是金额 "abc"',
        ),  # 2 title rows + header: line 9 is row 12
        (_with(0, 6, "8.001"), '第 4 行 资费(元): 不是金额 "8.001"（最多两位小数）'),
        (_with(2, 1, "10月6日"), '第 6 行 收寄日期: 不是日期 "10月6日"'),
        (_with(3, 5, "heavy"), '第 7 行 计费重量(克): 不是重量 "heavy"'),
        (_with(4, 0, "1.10000E+12"), '第 8 行 邮件号: 邮件号 "1.10000E+12" 已被 Excel 写成科学计数法'),
        (_with(5, 0, "SF#123"), '第 9 行 邮件号: 不是邮件号 "SF#123"'),
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_bad_cells_name_row_and_column(lines, message, encoding):
    with pytest.raises(StatementError) as error:
        read_statement(csv_text(lines).encode(encoding))
    assert str(error.value).startswith(message)


def test_bad_cell_in_xlsx_names_row_and_column():
    lines = _with(1, 6, "九元")
    with pytest.raises(StatementError, match=r'^第 4 行 资费\(元\): 不是金额 "九元"'):
        read_statement(xlsx_bytes(lines))


def test_a_line_after_a_row_without_waybill_is_an_error():
    text = csv_text(totals=False).replace("\r\n1100000000010", "\r\n,2026-10-10,,,,,,,,1.00\r\n1100000000010")
    with pytest.raises(StatementError, match=r"^第 13 行 邮件号: 为空"):
        read_statement(text.encode())


def test_missing_header_lists_the_required_columns():
    with pytest.raises(StatementError, match=r"找不到表头.*邮件号、收寄日期、计费重量\(克\)、应收合计\(元\)"):
        read_statement(csv_text().replace("收寄日期", "日期").encode())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xd0\xcf\x11\xe0" + b"\0" * 100, "不支持旧版 .xls"),
        (b"PK\x03\x04 not really a zip", "不是有效的 .xlsx"),
        (csv_text().encode("gbk").replace("合计".encode("gbk"), b"\x81\x20"), "编码无法识别"),
        (csv_text(LINES[:0]).encode(), "没有任何明细行"),
    ],
)
def test_unreadable_files(data, message):
    with pytest.raises(StatementError, match=message):
        read_statement(data)


def test_mapping_with_an_unknown_field_is_refused():
    with pytest.raises(StatementError, match="未知的字段 weight"):
        read_statement(csv_text().encode(), mapping={"weight": "重量"})
