"""Every finding type planted in every supported encoding and format, and the totals that tie out."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

from reconciliation import default_tariff, load_tariff, reconcile, write_report

from .builders import EXPECTED_CODES, LINES, ORIGIN, SHIPMENTS, csv_text, xlsx_bytes

TARIFF = default_tariff()


def run(data: bytes, filename: str = "statement.csv", **kwargs):
    return reconcile(
        data, filename=filename, period="2026-10", tariff=TARIFF, origin=ORIGIN, shipments=SHIPMENTS, **kwargs
    )


def codes_by_waybill(result) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in result.findings:
        found.setdefault(f.waybill_no, []).append(f.code)
    return {w: sorted(c) for w, c in found.items()}


def _apostrophes_and_spaces(lines):
    odd = [("'" + lines[0][0], *lines[0][1:]), (" 1100 0000 00002 ", *lines[1][1:])]
    return odd + lines[2:]


def _scientific(lines):
    return [("1.100000000003E+12", *lines[2][1:]) if line is lines[2] else line for line in lines]


STATEMENTS = {
    "utf-8 csv": lambda: csv_text().encode("utf-8"),
    "utf-8 with BOM csv": lambda: csv_text().encode("utf-8-sig"),
    "gbk csv": lambda: csv_text().encode("gbk"),
    "gbk csv, no title, no totals": lambda: csv_text(title=False, totals=False).encode("gbk"),
    "gbk tab-separated": lambda: csv_text(sep="\t").encode("gbk"),
    "utf-16 (Excel unicode text)": lambda: csv_text(sep="\t").encode("utf-16"),
    "apostrophes and spaces": lambda: csv_text(_apostrophes_and_spaces(LINES)).encode("gbk"),
    "excel scientific waybill": lambda: csv_text(_scientific(LINES)).encode("gbk"),
    "xlsx numeric waybills": lambda: xlsx_bytes(),
    "xlsx text waybills, no title": lambda: xlsx_bytes(numeric_waybills=False, title=False),
}


@pytest.mark.parametrize("name", STATEMENTS)
def test_every_finding_is_found_in_every_format(name):
    result = run(STATEMENTS[name](), filename="s.xlsx" if "xlsx" in name else "s.csv")

    assert codes_by_waybill(result) == {w: sorted(c) for w, c in EXPECTED_CODES.items()}
    assert result.totals.billed_fen == 10950
    assert sum(f.billed_fen for f in result.findings) == 10950
    assert result.totals.lines == len(LINES)
    assert not result.warnings  # the totals row (when present) agrees with the lines


def test_amounts_of_each_finding():
    by_code = {f.code: f for f in run(csv_text().encode("gbk")).findings if f.code != "ok"}
    amounts = {code: (f.billed_fen, f.expected_fen, f.difference_fen) for code, f in by_code.items()}
    assert amounts == {
        "overcharged": (950, 800, 150),
        "undercharged": (1100, 1200, -100),  # province zone, first weight
        "weight_mismatch": (800, 1200, -400),  # ours 1200 g: 500 g + 2 steps
        "duplicate": (800, 0, 800),
        "cancelled_but_billed": (800, 0, 800),
        "out_of_period": (800, 0, 800),
        "unknown_waybill": (800, 0, 800),
        "not_billed": (0, 2250, -2250),  # national 20.00 + 500.00 × 5 ‰
    }
    assert by_code["weight_mismatch"].chargeable_weight_g == 1500
    assert by_code["unknown_waybill"].department_code == "UNKNOWN"
    assert by_code["not_billed"].line_no is None and by_code["not_billed"].department_code == "ZRZYJ"


def test_national_ok_line_includes_minimum_insurance():
    national = next(f for f in run(csv_text().encode()).findings if f.waybill_no == "1100000000010")
    assert (national.code, national.expected_fen, national.zone) == ("ok", 3300, "national")


def test_totals_and_departments_tie_out():
    result = run(csv_text().encode("gbk"))
    t = result.totals
    assert t.billed_fen == sum(d.amount_fen for d in result.departments) == 10950
    assert t.expected_fen == sum(f.expected_fen for f in result.findings)
    assert t.difference_fen == t.billed_fen - t.expected_fen
    departments = {d.department_code: (d.parcels, d.amount_fen, d.not_billed) for d in result.departments}
    assert departments == {
        "SCJGJ": (7, 9200, 0),  # 001 003 004 005 006 007 010; 005's repeat is no extra parcel but is billed
        "UNKNOWN": (1, 800, 0),
        "ZRZYJ": (1, 950, 1),
    }
    assert t.disputed_fen == 150 + 800 * 4
    assert {f.code for f in result.disputes} == {
        "overcharged",
        "duplicate",
        "cancelled_but_billed",
        "out_of_period",
        "unknown_waybill",
    }
    assert t.shipments_of_period == 7  # 001-005, 008, 010: handed over in October, not cancelled


def test_every_line_and_every_shipment_of_the_period_appears_once():
    result = run(csv_text().encode())
    line_nos = [f.line_no for f in result.findings if f.line_no is not None]
    assert sorted(line_nos) == list(range(4, 4 + len(LINES)))
    of_period = {
        s.waybill_no for s in SHIPMENTS if s.accepted_on and s.accepted_on.month == 10 and not s.cancelled
    }
    assert of_period <= {f.waybill_no for f in result.findings}
    assert "1100000000011" not in {f.waybill_no for f in result.findings}


def test_totals_row_that_disagrees_is_a_warning():
    text = csv_text().replace("109.50", "200.00")
    assert run(text.encode()).warnings == ("对账单合计行为 200.00 元，明细之和为 109.50 元，两者不符",)


def test_the_earliest_of_repeated_lines_is_judged_whatever_the_order():
    later = ("1100000000001", "2026-10-20", "江西省", "吉安市", "安福县", "500", "9.00", "0", "0", "9.00")
    for lines in ([LINES[0], later], [later, LINES[0]]):
        result = reconcile(
            csv_text(lines, totals=False).encode(),
            period="2026-10",
            tariff=TARIFF,
            origin=ORIGIN,
            shipments=SHIPMENTS[:1],
        )
        assert sorted((f.accepted_on, f.code) for f in result.findings) == [
            (date(2026, 10, 5), "ok"),
            (date(2026, 10, 20), "duplicate"),
        ]


def test_tolerances_come_from_the_tariff():
    tariff = _tariff_with(amount_fen=200, weight_g=50)
    lines = [
        ("1100000000002", "2026-10-05", "江西省", "吉安市", "安福县", "500", "9.50", "0", "0", "9.50"),
        ("1100000000001", "2026-10-05", "江西省", "吉安市", "安福县", "1000", "10.00", "0", "0", "10.00"),
    ]
    shipments = [SHIPMENTS[1], SHIPMENTS[0].__class__(**{**SHIPMENTS[0].__dict__, "weight_g": 480})]
    result = reconcile(
        csv_text(lines, totals=False).encode(),
        period="2026-10",
        tariff=tariff,
        origin=ORIGIN,
        shipments=shipments,
    )
    # 1.50 over is within 2.00; 480 g vs the carrier's 1000 g is beyond 50 g
    assert {f.waybill_no: f.code for f in result.findings} == {
        "1100000000002": "ok",
        "1100000000001": "weight_mismatch",
    }


def test_weight_within_tolerance_takes_the_carriers_scale():
    tariff = _tariff_with(amount_fen=0, weight_g=30)
    line = [("1100000000001", "2026-10-05", "江西省", "吉安市", "安福县", "510", "10.00", "0", "0", "10.00")]
    shipment = SHIPMENTS[0].__class__(**{**SHIPMENTS[0].__dict__, "weight_g": 490})
    result = reconcile(
        csv_text(line, totals=False).encode(),
        period="2026-10",
        tariff=tariff,
        origin=ORIGIN,
        shipments=[shipment],
    )
    f = result.findings[0]
    assert (f.code, f.expected_fen) == ("ok", 1000)  # priced at the carrier's 510 g: 8.00 + 2.00


def _tariff_with(*, amount_fen: int, weight_g: int):
    from importlib import resources

    text = resources.files("reconciliation").joinpath("default_tariff.toml").read_text(encoding="utf-8")
    changed = text.replace("amount_fen = 0", f"amount_fen = {amount_fen}")
    changed = changed.replace("weight_g = 0", f"weight_g = {weight_g}")
    assert changed != text
    return load_tariff(changed.encode())


def test_same_statement_twice_gives_identical_reports():
    for fmt in ("json", "csv", "xlsx", "pdf"):
        first = write_report(run(csv_text().encode("gbk")), fmt)
        assert first == write_report(run(csv_text().encode("gbk")), fmt), fmt


def test_json_report_has_the_contract_shape():
    report = json.loads(write_report(run(csv_text().encode()), "json"))
    assert report["period"] == "2026-10"
    assert {"billed_fen", "expected_fen", "difference_fen", "lines"} <= report["totals"].keys()
    assert report["totals"]["billed_fen"] == 10950 and report["totals"]["lines"] == len(LINES)
    finding = next(f for f in report["findings"] if f["code"] == "overcharged")
    assert {
        k: finding[k]
        for k in ("waybill_no", "billed_fen", "expected_fen", "difference_fen", "department_code")
    } == {
        "waybill_no": "1100000000002",
        "billed_fen": 950,
        "expected_fen": 800,
        "difference_fen": 150,
        "department_code": "ZRZYJ",
    }
    assert isinstance(finding["detail"], str) and "1.50" in finding["detail"]
    assert report["departments"][0].keys() >= {"department_code", "parcels", "amount_fen"}
    assert Counter(f["code"] for f in report["findings"])["duplicate"] == 1


def test_progress_is_reported_up_to_the_total():
    calls = []
    run(csv_text().encode(), on_progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1]


@pytest.mark.parametrize("totals", [True, False], ids=["totals row", "no totals row"])
@pytest.mark.parametrize("fmt", ["utf-8", "gbk", "xlsx"])
def test_progress_ends_at_the_number_of_lines_the_report_counts(fmt, totals):
    """The bar's last count is the statement's lines, as "对账完成：N 行" says: not the empty line after
    the last line break, nor the totals row."""
    data = xlsx_bytes(totals=totals) if fmt == "xlsx" else csv_text(totals=totals).encode(fmt)
    calls = []
    result = run(data, filename=f"statement.{'xlsx' if fmt == 'xlsx' else 'csv'}",
                 on_progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls[-1] == (len(LINES), len(LINES)) == (result.totals.lines, result.totals.lines)
    assert all(done <= total for done, total in calls)


def test_column_mapping_reads_another_layout():
    text = csv_text(title=False).replace("邮件号", "运单编号").replace("应收合计(元)", "结算金额")
    mapping = {"waybill_no": "运单编号", "billed_fen": "结算金额"}
    assert codes_by_waybill(run(text.encode(), mapping=mapping)) == {
        w: sorted(c) for w, c in EXPECTED_CODES.items()
    }


def test_quoted_cells_and_waybill_not_first_read_the_same():
    quoted = csv_text().replace(",33.00", ',"33.00"')
    numbered = "\r\n".join(
        ("序号," + row if i >= 3 and not row.startswith("合计") else "," + row if row else row)
        if i >= 2
        else row
        for i, row in enumerate(csv_text().split("\r\n"))
    ).replace(",邮件号", "序号,邮件号", 1)
    expected = {w: sorted(c) for w, c in EXPECTED_CODES.items()}
    assert codes_by_waybill(run(quoted.encode())) == expected
    assert codes_by_waybill(run(numbered.encode())) == expected
