"""Finance over a real socket: upload the EMS statement, see the findings, download, close the month."""

import itertools
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.fixtures.dispatches import intake_body
from tests.integration.finance.kit import line, statement

CHINA = timezone(timedelta(hours=8))
WAYBILL, PLACE = "1180000000001", "江西省,吉安市,安福县"
CASES = (f"FINE2E{n:04d}" for n in itertools.count(1))
MAGIC = {"pdf": b"%PDF", "xlsx": b"PK\x03\x04", "json": b"{", "csv": None}
TYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@pytest.fixture(scope="module")
def month() -> str:
    return datetime.now(CHINA).strftime("%Y-%m")


@pytest.fixture(scope="module")
def shipped(gw, staff):
    """Three parcels booked through the simulator: two handed over by manifest, one by a carrier scan."""
    dispatcher = staff["dispatcher"]
    ids = []
    for _ in range(3):
        status, d = gw.submit(intake_body(next(CASES)))
        assert status == 201, d
        ids.append(d["id"])
    booked = [wait_for(gw, dispatcher, i, lambda d: d["waybill_no"]) for i in ids]
    body = json.dumps({"ids": ids[:2], "courier": "张师傅"}, ensure_ascii=False).encode()
    status, result = gw.request(
        "POST", "/api/v1/manifests/confirm", body, {**dispatcher, "Content-Type": "application/json"}
    )
    assert status == 200 and len(result["handed_over"]) == 2, result
    waybill = booked[2]["waybill_no"]
    status, _ = gw.control("POST", f"/parcels/{waybill}/advance", {"to": "handed_over"})
    assert status == 200
    for i in ids:
        wait_for(gw, dispatcher, i, lambda d: d["status"] == "handed_over")
    return [d["waybill_no"] for d in booked]


def wait_for(gw, headers, dispatch_id, ready, timeout=30.0) -> dict:
    deadline = time.time() + timeout
    while True:
        status, d = gw.request("GET", f"/api/v1/dispatches/{dispatch_id}", headers=headers)
        assert status == 200, d
        if ready(d):
            return d
        assert time.time() < deadline, d
        time.sleep(0.1)


def multipart(fields: dict[str, str], file: tuple[str, bytes] | None) -> tuple[bytes, dict]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    if file:
        name, content = file
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def upload(gw, headers, content: bytes, period: str, name="对账单.csv", **fields):
    body, head = multipart({"period": period, **fields}, (name, content))
    return gw.request("POST", "/api/v1/reconciliations", body, {**headers, **head})


def get(gw, path, headers):
    return gw.request("GET", path, headers=headers)


def raw_get(gw, path, headers):
    import urllib.request

    req = urllib.request.Request(gw.base + path, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.headers["Content-Type"], r.read()


def month_statement(shipped, month, title="EMS 月结对账单") -> bytes:
    day = f"{month}-01"
    return statement(
        line(shipped[0], day),  # 200 g in the same county: 8.00 by the default tariff
        line(shipped[1], day, total="9.50"),
        line("1199000000001", day),
        title=title,
    )


# ---- upload, findings, once per file ---------------------------------------------------------------


def test_finance_uploads_the_statement_and_sees_every_finding(gw, staff, shipped, month):
    status, run = upload(gw, staff["finance"], month_statement(shipped, month), month)
    assert status == 201, run
    assert run["created"] and run["period"] == month and run["created_by"] == "finance-li"
    assert run["totals"]["billed_fen"] == 800 + 950 + 800 and run["totals"]["lines"] == 3
    assert run["statement"]["filename"] == "对账单.csv"

    status, result = get(gw, f"/api/v1/reconciliations/{run['id']}", staff["finance"])
    assert status == 200
    assert set(result) >= {"period", "totals", "findings", "departments"}
    assert set(result["totals"]) >= {"billed_fen", "expected_fen", "difference_fen", "lines"}
    codes = {f["waybill_no"]: f["code"] for f in result["findings"]}
    assert codes == {
        shipped[0]: "ok",
        shipped[1]: "overcharged",
        "1199000000001": "unknown_waybill",
        shipped[2]: "not_billed",
    }
    over = next(f for f in result["findings"] if f["code"] == "overcharged")
    assert (over["billed_fen"], over["expected_fen"], over["difference_fen"]) == (950, 800, 150)
    assert over["department_code"] == "SCJGJ" and over["detail"]

    status, again = upload(gw, staff["admin"], month_statement(shipped, month), month)
    assert status == 200 and again["id"] == run["id"] and not again["created"]
    status, listed = get(gw, f"/api/v1/reconciliations?period={month}", staff["finance"])
    assert status == 200 and [r["id"] for r in listed["reconciliations"]].count(run["id"]) == 1


def test_a_raw_body_upload_with_the_period_in_the_query(gw, staff, shipped):
    content = statement(line(shipped[0], "2026-03-03"))  # billed in March, on the February statement
    status, run = gw.request(
        "POST",
        "/api/v1/reconciliations?period=2026-02&filename=feb.csv",
        content,
        {**staff["finance"], "Content-Type": "text/csv"},
    )
    assert status == 201, run
    assert run["statement"]["filename"] == "feb.csv" and run["totals"]["codes"]["out_of_period"] == 1


def test_a_large_statement_uploads(gw, staff):
    lines = [line(f"13{n:011d}", "2026-01-15") for n in range(60_000)]  # about 4 MB, over 1 MiB
    content = statement(*lines)
    assert len(content) > 3 * 1024 * 1024
    status, run = upload(gw, staff["finance"], content, "2026-01", name="big.csv")
    assert status == 201, run
    assert run["totals"]["lines"] == 60_000 and run["totals"]["codes"]["unknown_waybill"] == 60_000


def test_a_dispatcher_may_not_touch_finance(gw, staff, month):
    dispatcher = staff["dispatcher"]
    status, _ = upload(gw, dispatcher, statement(line("1", f"{month}-01")), month)
    assert status == 403
    for path in ("/api/v1/reconciliations", f"/api/v1/periods/{month}"):
        assert get(gw, path, dispatcher)[0] == 403
    body = json.dumps({"run_id": "x"}).encode()
    headers = {**dispatcher, "Content-Type": "application/json"}
    assert gw.request("POST", f"/api/v1/periods/{month}/close", body, headers)[0] == 403
    assert gw.request("GET", "/api/v1/reconciliations")[0] == 401


@pytest.mark.parametrize(
    ("content", "fields", "field"),
    [
        (
            statement("1180000000001,2026-10-05,江西省,吉安市,安福县,500,八元,0.00,0.00,8.00"),
            {},
            "第 3 行 资费(元)",
        ),
        (
            statement("1180000000001,2026-10-32,江西省,吉安市,安福县,500,8.00,0.00,0.00,8.00"),
            {},
            "第 3 行 收寄日期",
        ),
        (b"no header here\n1,2,3\n", {}, "statement"),
        (statement(line("1180000000001", "2026-10-05")), {"tariff": "weight_step_g = 0\n"}, None),
    ],
)
def test_a_bad_file_is_422_naming_row_and_column(gw, staff, content, fields, field):
    status, answer = upload(gw, staff["finance"], content, "2026-10", **fields)
    assert status == 422, answer
    assert answer["errors"] and all(e["message"] for e in answer["errors"])
    if field:
        assert answer["errors"][0]["field"] == field


def test_missing_period_or_file_is_422(gw, staff):
    body, head = multipart({"period": "2026-10"}, None)
    status, answer = gw.request("POST", "/api/v1/reconciliations", body, {**staff["finance"], **head})
    assert status == 422 and answer["errors"][0]["field"] == "file"
    status, answer = upload(gw, staff["finance"], statement(line("1", "2026-10-05")), "2026-1")
    assert status == 422 and answer["errors"][0]["field"] == "period"
    assert get(gw, "/api/v1/reconciliations/nope", staff["finance"])[0] == 404


def test_a_part_header_with_a_control_character_is_422_not_500(gw, staff):
    """Found by the OpenAPI fuzz (issue 16): aiohttp's InvalidHeader from a part's header was a 500."""
    body, head = multipart({"period": "2026-10"}, ("s.csv", b"x"))
    body = body.replace(b'name="period"', b'name="\x1aperiod"', 1)
    status, answer = gw.request("POST", "/api/v1/reconciliations", body, {**staff["finance"], **head})
    assert status == 422 and answer["errors"][0]["field"] == "file", answer


# ---- reports and closing the month -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx", "pdf"])
def test_each_report_downloads_with_its_type(gw, staff, shipped, month, fmt):
    status, run = upload(gw, staff["finance"], month_statement(shipped, month), month)
    assert status in (200, 201), run
    status, content_type, content = raw_get(
        gw, f"/api/v1/reconciliations/{run['id']}/report.{fmt}", staff["finance"]
    )
    assert status == 200 and content_type.startswith(TYPES[fmt])
    if MAGIC[fmt]:
        assert content.startswith(MAGIC[fmt])
    if fmt == "csv":
        assert shipped[1] in content.decode("utf-8-sig")
    if fmt == "json":
        assert json.loads(content)["period"] == month


def test_closing_the_month_freezes_its_result(gw, staff, shipped, month):
    finance = staff["finance"]
    status, run = upload(gw, finance, month_statement(shipped, month), month)
    assert status in (200, 201)
    body = json.dumps({"run_id": run["id"]}).encode()
    headers = {**finance, "Content-Type": "application/json"}

    status, closed = gw.request("POST", f"/api/v1/periods/{month}/close", body, headers)
    assert status == 200, closed
    assert closed["status"] == "closed" and closed["run_id"] == run["id"]
    assert closed["closed_by"] == "finance-li" and closed["frozen"]["totals"] == run["totals"]

    status, refused = upload(gw, finance, month_statement(shipped, month, title="改过的"), month)
    assert status == 409 and run["id"] in refused["error"]
    status, state = get(gw, f"/api/v1/periods/{month}", finance)
    assert status == 200 and state["status"] == "closed" and state["run_id"] == run["id"]
    status, frozen = get(gw, f"/api/v1/reconciliations/{run['id']}", finance)
    assert status == 200 and frozen["totals"]["billed_fen"] == run["totals"]["billed_fen"]
    status, _, pdf = raw_get(gw, f"/api/v1/reconciliations/{run['id']}/report.pdf", finance)
    assert status == 200 and pdf.startswith(b"%PDF")

    bad = json.dumps({"run_id": "nope"}).encode()
    status, answer = gw.request("POST", f"/api/v1/periods/{month}/close", bad, headers)
    assert status == 422 and answer["errors"][0]["field"] == "run_id"
    assert get(gw, "/api/v1/periods/2030-01", finance)[1]["status"] == "open"
