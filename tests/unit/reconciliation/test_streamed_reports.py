"""Reports written as they are made: the same content as finding by finding, department names in every
format, the dispute list for EMS in the statement's layout, and writing never holds the whole report."""

from __future__ import annotations

import csv
import functools
import io
import json
import shutil
import subprocess
import tempfile
import tracemalloc
import zipfile
from datetime import date

import pytest
from python_calamine import CalamineWorkbook

from logistics import reconcile_engine
from reconciliation import ShippedParcel, default_tariff, reconcile, write_report
from reconciliation.report_disputes import COLUMNS
from reconciliation.report_json import finding_to_dict
from reconciliation.report_tables import FINDING_COLUMNS, _csv_cell, _finding_rows
from reconciliation.reports import write_report_to

from .builders import ORIGIN, csv_text

# A department whose code and name hold what would break a hand-made JSON or CSV line.
ODD_CODE, ODD_NAME = '"line_no":0,"x', '安福县,市场"监督"\n管理局'
NAMES = {"SCJGJ": "安福县市场监督管理局", ODD_CODE: ODD_NAME}


def _parcel(n: int, department: str = "SCJGJ", **changes) -> ShippedParcel:
    values = dict(
        waybill_no=f"11000000{n:05d}", department_code=department, weight_g=300, declared_value_fen=0,
        province="江西省", city="吉安市", county="安福县", accepted_on=date(2026, 10, 5), cancelled=False,
        department_name=NAMES[department],
    )  # fmt: skip
    return ShippedParcel(**{**values, **changes})


def _line(n: int, total: str = "8.00", day: str = "2026-10-05") -> tuple:
    return (f"11000000{n:05d}", day, "江西省", "吉安市", "安福县", "500", total, "0.00", "0.00", total)


@pytest.fixture(scope="module")
def result():
    parcels = [_parcel(n, "SCJGJ" if n % 3 else ODD_CODE) for n in range(1, 301)]
    parcels.append(_parcel(400, cancelled=True))
    lines = [_line(n, "9.00" if n % 7 == 0 else "8.00") for n in range(1, 290)]  # 290…300 not billed
    lines += [_line(5), _line(900), _line(400), _line(12, day="2026-09-30")]  # duplicate, unknown, cancelled
    return reconcile(
        csv_text(lines, totals=False).encode(),
        period="2026-10",
        tariff=default_tariff(),
        origin=ORIGIN,
        shipments=parcels,
    )


def test_json_is_every_finding_as_the_contract_says_with_department_names(result):
    report = json.loads(write_report(result, "json"))
    expected = [finding_to_dict(f, result.department_name(f.department_code)) for f in result.findings]
    assert report["findings"] == expected and len(expected) == len(result.findings) > 290
    assert {f["code"] for f in expected} >= {
        "ok",
        "overcharged",
        "duplicate",
        "unknown_waybill",
        "not_billed",
    }
    odd = next(f for f in report["findings"] if f["department_code"] == ODD_CODE)
    assert odd["department_name"] == ODD_NAME
    names = {d["department_code"]: d["department_name"] for d in report["departments"]}
    assert names["SCJGJ"] == "安福县市场监督管理局" and names[ODD_CODE] == ODD_NAME
    assert list(report)[:3] == ["period", "totals", "findings"]


def test_csv_is_every_finding_row_by_row_with_department_names(result):
    rows = list(csv.reader(io.StringIO(write_report(result, "csv").decode("utf-8-sig"))))
    assert tuple(rows[0]) == FINDING_COLUMNS
    expected = [[_csv_cell(v) for v in row] for row in _finding_rows(result.findings, result.department_name)]
    assert rows[1:] == expected
    by_department = {r[FINDING_COLUMNS.index("部门")]: r[FINDING_COLUMNS.index("部门名称")] for r in rows[1:]}
    assert by_department["SCJGJ"] == "安福县市场监督管理局" and by_department[ODD_CODE] == ODD_NAME


def test_a_stored_run_renders_the_same_bytes_in_every_format(result):
    stored = write_report(result, "json").decode()
    for fmt in ("json", "csv", "xlsx", "disputes"):
        assert reconcile_engine.render(stored, fmt) == write_report(result, fmt), fmt


def test_the_dispute_list_is_the_disputed_lines_in_the_statements_layout(result):
    book = CalamineWorkbook.from_filelike(io.BytesIO(write_report(result, "disputes")))
    rows = book.get_sheet_by_name("争议清单").to_python()
    assert tuple(rows[0]) == COLUMNS and rows[0][:10] == [
        "邮件号", "收寄日期", "寄达省", "寄达市", "寄达县", "计费重量(克)",
        "资费(元)", "保价费(元)", "其他费用(元)", "应收合计(元)",
    ]  # fmt: skip
    lines = {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:-1]}
    disputed = [f.waybill_no for f in result.disputes]
    assert [row[0] for row in rows[1:-1]] == disputed and len(disputed) >= 40
    over = lines["1100000000007"]
    assert (over["寄达省"], over["寄达县"], over["资费(元)"], over["应收合计(元)"]) == (
        "江西省",
        "安福县",
        9.0,
        9.0,
    )
    assert (over["核对结论"], over["按资费应收(元)"], over["申请退还(元)"]) == ("多收", 8.0, 1.0)
    assert "多收 1.00 元" in over["依据"] and over["部门名称"] == "安福县市场监督管理局"
    unknown = lines["1100000000900"]
    assert (unknown["核对结论"], unknown["按资费应收(元)"], unknown["申请退还(元)"]) == (
        "非我方邮件",
        0.0,
        8.0,
    )
    total = dict(zip(COLUMNS, rows[-1], strict=True))
    assert total["邮件号"] == "合计" and total["申请退还(元)"] == result.totals.disputed_fen / 100
    assert total["核对结论"] == f"{len(disputed)} 条"


def test_the_pdf_names_the_departments(result):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) not installed")
    pdf = write_report(result, "pdf")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "安福县市场监督管理局" in text and "部门名称" in text


def test_unknown_formats_name_the_dispute_list_too(result):
    with pytest.raises(ValueError, match="disputes"):
        write_report(result, "docx")


@functools.cache
def _unknown_lines(n: int):
    """n findings (all lines of a statement we never booked), held as columns."""
    lines = [(f"12{i:011d}", "2026-10-05", "江西省", "吉安市", "安福县", "500", "8.00", "0", "0", "8.00")
             for i in range(n)]  # fmt: skip
    data = csv_text(lines, totals=False).encode()
    return reconcile(data, period="2026-10", tariff=default_tariff(), origin=ORIGIN, shipments=[])


@pytest.mark.parametrize("fmt, lines", [("json", 100_000), ("csv", 100_000), ("xlsx", 12_000)])
def test_writing_a_large_report_never_holds_it_whole(fmt, lines):
    result = _unknown_lines(lines)
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        try:
            write_report_to(result, fmt, out)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        size = out.tell()
        if fmt == "xlsx":  # what a workbook built in memory would hold: its sheets' XML
            out.seek(0)
            size = sum(part.file_size for part in zipfile.ZipFile(out).infolist())
    assert size > 5_000_000
    assert peak < size / 3, f"{fmt}: peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB report"
