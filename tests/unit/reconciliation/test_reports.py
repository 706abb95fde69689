"""Reports: spreadsheets that cannot run formulas, numbers that stay numbers, a PDF in Chinese."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook

from reconciliation import ShippedParcel, default_tariff, reconcile, write_report

from .builders import ORIGIN, csv_text

LINE = [("1100000000001", "2026-10-05", "江西省", "吉安市", "安福县", "500", "9.00", "0.00", "0.00", "9.00")]
HOSTILE = ShippedParcel(
    "1100000000001", '=HYPERLINK("http://x")', 300, 0, "江西省", "吉安市", "安福县", date(2026, 10, 5)
)


@pytest.fixture(scope="module")
def result():
    return reconcile(
        csv_text(LINE, totals=False).encode(),
        period="2026-10",
        tariff=default_tariff(),
        origin=ORIGIN,
        shipments=[HOSTILE],
    )


def test_csv_neutralises_formulas_and_keeps_amounts_plain(result):
    rows = list(csv.reader(io.StringIO(write_report(result, "csv").decode("utf-8-sig"))))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["部门"] == '\'=HYPERLINK("http://x")'
    assert (row["应收(元)"], row["按资费应收(元)"], row["差额(元)"]) == ("9.00", "8.00", "1.00")
    assert row["结果"] == "多收"


def test_xlsx_neutralises_formulas_and_keeps_numbers_numeric(result):
    book = load_workbook(io.BytesIO(write_report(result, "xlsx")))
    sheet = book["差异明细"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert row["部门"] == '\'=HYPERLINK("http://x")'
    assert sheet.cell(2, header.index("应收(元)") + 1).data_type == "n"
    assert float(row["差额(元)"]) == 1.0 and row["对账单行号"] == 4
    assert book["争议清单"].cell(2, 1).value == "1100000000001"
    assert {r[0].value for r in book["部门分摊"].iter_rows(min_row=2)} == {'\'=HYPERLINK("http://x")'}


def test_unknown_format_is_refused(result):
    with pytest.raises(ValueError, match="未知的报告格式"):
        write_report(result, "docx")


def test_pdf_is_chinese_with_dispute_list_and_signatures(result):
    pdf = write_report(result, "pdf")
    assert pdf.startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout
    text = text.decode()
    for expected in (
        "对账报告",
        "2026-10",
        "争议清单",
        "1100000000001",
        "多收 1.00 元",
        "经办人",
        "财务负责人",
        "9.00 元",
    ):
        assert expected in text, expected
