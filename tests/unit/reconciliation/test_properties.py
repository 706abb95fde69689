"""Line order and file encoding never change the findings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciliation import default_tariff, reconcile

from .builders import LINES, ORIGIN, SHIPMENTS, csv_text, xlsx_bytes

TARIFF = default_tariff()
# A repeat with other content: which of the pair is judged must not depend on where it stands.
EXTRA = [
    ("1100000000001", "2026-10-03", "江西省", "吉安市", "安福县", "500", "9.00", "0.00", "0.00", "9.00"),
    ("1100000000010", "2026-10-10", "广东省", "广州市", "天河区", "1500", "30.00", "1.00", "0.00", "31.00"),
]
ENCODINGS = ["utf-8", "utf-8-sig", "gbk", "utf-16", "xlsx"]


def _encode(lines, encoding: str) -> bytes:
    if encoding == "xlsx":
        return xlsx_bytes(lines, totals=False)
    return csv_text(lines, totals=False, sep="\t" if encoding == "utf-16" else ",").encode(encoding)


def _findings(data: bytes):
    result = reconcile(data, period="2026-10", tariff=TARIFF, origin=ORIGIN, shipments=SHIPMENTS)
    # the row numbers move with the lines (and a duplicate's detail names its row): compare the rest
    return sorted(
        (f.waybill_no, f.code, f.billed_fen, f.expected_fen, f.department_code, f.accepted_on, f.zone)
        for f in result.findings
    ), result.totals


BASELINE = _findings(_encode(LINES + EXTRA, "utf-8"))


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(LINES + EXTRA), encoding=st.sampled_from(ENCODINGS))
def test_shuffling_and_reencoding_never_change_the_findings(order, encoding):
    assert _findings(_encode(order, encoding)) == BASELINE


def test_the_baseline_judges_the_earliest_of_each_repeat():
    findings = {(w, code, day.day) for w, code, *_, day, _zone in BASELINE[0] if w in ("1100000000001",)}
    assert findings == {("1100000000001", "overcharged", 3), ("1100000000001", "duplicate", 5)}
