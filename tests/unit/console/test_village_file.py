"""A village point list's rows keep the spreadsheet's own row numbers, whatever empty rows and columns
come before the header (calamine's rows start at Excel's row 1; openpyxl and xlsxwriter write the files),
so an import refused names the row staff see in Excel."""

from __future__ import annotations

import io

import pytest
import xlsxwriter
from openpyxl import Workbook

from logistics.domain.errors import InvalidInput
from logistics.service import village_points
from logistics.web.console.village_file import read_points
from tests.fakes import fake_world
from tests.fixtures.dispatches import NOW

HEADER = ["代办点编码", "代办点名称", "乡镇", "省", "市", "县", "详细地址", "邮编", "经办人", "经办人电话"]


def row(code: str, phone: str = "13907960002") -> list[str]:
    return [
        code,
        f"{code}村代办点",
        "平都镇",
        "江西省",
        "吉安市",
        "安福县",
        "村委会",
        "343200",
        "王经办",
        phone,
    ]


def by_openpyxl(rows: list[list], *, first_row: int, first_col: int) -> bytes:
    book = Workbook()
    sheet = book.active
    for r, cells in enumerate(rows, start=first_row):
        for c, value in enumerate(cells, start=first_col):
            sheet.cell(row=r, column=c, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def by_xlsxwriter(rows: list[list], *, first_row: int, first_col: int) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, cells in enumerate(rows, start=first_row):
        sheet.write_row(r - 1, first_col - 1, cells)  # xlsxwriter counts from 0
    book.close()
    return out.getvalue()


@pytest.mark.parametrize("write", [by_openpyxl, by_xlsxwriter])
@pytest.mark.parametrize(("first_row", "first_col"), [(1, 1), (3, 1), (3, 2), (6, 4)])
def test_each_row_is_numbered_as_excel_numbers_it(write, first_row, first_col):
    data = write([HEADER, row("VP-01"), [], row("VP-02")], first_row=first_row, first_col=first_col)
    found = read_points(data, "清单.xlsx")
    assert [(n, p["code"]) for n, p in found] == [(first_row + 1, "VP-01"), (first_row + 3, "VP-02")]
    assert found[0][1]["address"]["detail"] == "村委会" and found[1][1]["clerk_phone"] == "13907960002"


async def test_a_refused_import_names_the_row_staff_see():
    """The header in Excel's row 3, the bad phone in row 5: 第 5 行 (not 第 7 行)."""
    data = by_openpyxl([HEADER, row("VP-01"), row("VP-02", phone="12")], first_row=3, first_col=2)
    with pytest.raises(InvalidInput) as refused:
        await village_points.import_rows(
            fake_world().uow(), read_points(data, "清单.xlsx"), hall="default", actor="s", now=NOW
        )
    assert refused.value.errors[0] == (
        "第 5 行 clerk_phone",
        "第 5 行 经办人电话：格式不对（手机号或固定电话）",
    )
    short = by_xlsxwriter([["标题"], [], HEADER[:2]], first_row=1, first_col=1)
    with pytest.raises(InvalidInput, match="第 3 行表头缺少列"):
        read_points(short, "清单.xlsx")
