"""Every endpoint that takes a body, on a real `certpost serve` over raw loopback sockets: the body sent in
several TCP segments with pauses, or in several chunks, is read whole; past the endpoint's limit it is
413, answered before the client has sent it all (CONTRACT "Request bodies")."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest

from adapters import REST_PATH, SOAP_PATH
from adapters.ems.crypto import seal
from adapters.ems.open import mapping
from adapters.ems.open.settings import EmsOpenSettings
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY
from logistics.domain.china_time import CHINA
from tests.e2e.console_kit import PASSWORD, add_user
from tests.e2e.gateway import sign
from tests.fixtures.dispatches import intake_body
from tests.fixtures.raw_http import CHUNKS, SEGMENTS, WAYS, send, send_unfinished
from tests.integration.finance.kit import line, statement

MIB = 1024 * 1024
CASES = iter(range(1, 10_000))


def _case() -> str:
    return f"BODY{next(CASES):05d}"


def _signed(payload: dict, pad: int = 0) -> tuple[bytes, dict]:
    body = json.dumps(payload, ensure_ascii=False).encode() + b" " * pad  # JSON may end in whitespace
    return body, sign(body)


def _padded(payload: dict, size: int) -> bytes:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return body + b" " * max(0, size - len(body))


def wait_for(check, timeout: float = 60.0, step: float = 0.2):
    deadline = time.time() + timeout
    while not (value := check()):
        assert time.time() < deadline, "timed out"
        time.sleep(step)
    return value


def _booked(gw, staff, case_no: str) -> dict:
    status, d = gw.submit(intake_body(case_no))
    assert status == 201, d
    path = f"/api/v1/dispatches/{d['id']}"
    return wait_for(
        lambda: (r := gw.request("GET", path, headers=staff["dispatcher"])[1])["waybill_no"] and r
    )


# ---- intake ------------------------------------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_a_signed_intake_in_pieces_is_created_and_its_replay_is_the_same(gw, way):
    body, headers = _signed(intake_body(_case()), pad=20_000)
    created = send(gw.port, "POST", "/api/v1/dispatches", body, headers, way=way)
    assert created.status == 201, created.body
    replay = send(gw.port, "POST", "/api/v1/dispatches", body, headers, way=way, pieces=7)
    assert replay.status == 200 and replay.json()["id"] == created.json()["id"]


def test_a_500_kb_intake_is_created(gw):
    body, headers = _signed(intake_body(_case()), pad=500_000)
    assert send(gw.port, "POST", "/api/v1/dispatches", body, headers, pieces=10, pause=0.01).status == 201


def test_an_intake_of_exactly_1_mib_is_taken_and_one_byte_more_in_chunks_is_413(gw):
    payload = intake_body(_case())
    body = _padded(payload, MIB)
    assert send(gw.port, "POST", "/api/v1/dispatches", body, sign(body), way=CHUNKS, pieces=9).status == 201
    over = body + b" "
    reply = send(gw.port, "POST", "/api/v1/dispatches", over, sign(over), way=CHUNKS, pieces=9, pause=0.01)
    assert reply.status == 413


@pytest.mark.parametrize("way", WAYS)
def test_an_intake_past_1_mib_is_413_before_it_is_all_sent(gw, way):
    """Chunks past 1 MiB of a body that never ends, or a Content-Length past it with no body at all."""
    sent = b"{" + b" " * (MIB + 64 * 1024) if way == CHUNKS else b""
    headers = {**sign(b"{}"), "Content-Type": "application/json"}
    reply = send_unfinished(gw.port, "POST", "/api/v1/dispatches", sent, headers, way=way, declared=60 * MIB)
    assert reply.status == 413


# ---- staff JSON: corrections, labels, manifests -----------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_a_correction_in_pieces_is_applied(gw, staff, way):
    status, d = gw.submit(intake_body(_case(), delivery_method="pickup"))  # awaits pickup: correctable
    assert status == 201, d
    body = _padded({"recipient": {"name": "李四", "phone": "13907961111"}}, 30_000)
    headers = {**staff["dispatcher"], "Content-Type": "application/json"}
    reply = send(gw.port, "PATCH", f"/api/v1/dispatches/{d['id']}", body, headers, way=way)
    assert reply.status == 200, reply.body
    assert reply.json()["recipient"]["phone"].endswith("1111")


@pytest.mark.parametrize("way", WAYS)
def test_labels_and_a_manifest_and_its_handover_in_pieces(gw, staff, way):
    d = _booked(gw, staff, _case())
    headers = {**staff["dispatcher"], "Content-Type": "application/json"}
    labels = send(
        gw.port,
        "POST",
        "/api/v1/labels",
        _padded({"ids": [d["id"]], "size": "a4"}, 100_000),
        headers,
        way=way,
    )
    assert labels.status == 200 and labels.body.startswith(b"%PDF"), labels.body[:200]
    body = _padded({"ids": [d["id"]], "courier": "揽收员张"}, 100_000)
    manifest = send(gw.port, "POST", "/api/v1/manifests", body, headers, way=way)
    assert manifest.status == 200 and manifest.body.startswith(b"%PDF"), manifest.body[:200]
    manifest_id = manifest.headers["X-Manifest-Id"]
    body = _padded({"ids": [d["id"]], "courier": "揽收员张", "manifest_id": manifest_id}, 100_000)
    confirmed = send(gw.port, "POST", "/api/v1/manifests/confirm", body, headers, way=way)
    assert confirmed.status == 200, confirmed.body


def test_staff_json_past_its_limit_is_413(gw, staff):
    headers = {**staff["dispatcher"], "Content-Type": "application/json"}
    sent = b'{"ids": [' + b" " * 300_000
    reply = send_unfinished(gw.port, "POST", "/api/v1/labels", sent, headers, way=CHUNKS)
    assert reply.status == 413


# ---- statements and closing the month -------------------------------------------------------------


def _statement(lines: int) -> bytes:
    return statement(*(line(f"12{n:011d}", "2025-03-15") for n in range(lines)))


def _multipart(fields: dict[str, str], content: bytes) -> tuple[bytes, str]:
    boundary = "certpost-statement"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    head = "".join(parts) + (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    )
    return (
        head.encode() + content + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


@pytest.mark.parametrize("way", WAYS)
def test_a_20000_line_raw_statement_in_pieces_is_reconciled_from_every_line(gw, staff, way):
    content = _statement(20_000)
    period = "2025-01" if way == SEGMENTS else "2025-02"
    headers = {**staff["finance"], "Content-Type": "text/csv"}
    path = f"/api/v1/reconciliations?period={period}&filename=s.csv"
    reply = send(gw.port, "POST", path, content, headers, way=way, pieces=12, pause=0.01)
    assert reply.status == 201, reply.body
    run = reply.json()
    assert run["totals"]["lines"] == 20_000 and run["totals"]["codes"]["unknown_waybill"] == 20_000
    body = _padded({"run_id": run["id"]}, 20_000)
    closed = send(gw.port, "POST", f"/api/v1/periods/{period}/close", body, headers, way=way)
    assert closed.status == 200, closed.body


@pytest.mark.parametrize("way", WAYS)
def test_a_multipart_statement_in_pieces_is_reconciled_from_every_line(gw, staff, way):
    body, kind = _multipart({"period": "2025-03" if way == SEGMENTS else "2025-04"}, _statement(20_000))
    headers = {**staff["finance"], "Content-Type": kind}
    reply = send(gw.port, "POST", "/api/v1/reconciliations", body, headers, way=way, pieces=12, pause=0.01)
    assert reply.status == 201, reply.body
    assert reply.json()["totals"]["lines"] == 20_000


def test_a_multipart_upload_that_does_not_parse_is_422_naming_the_file(gw, staff):
    headers = {**staff["finance"], "Content-Type": "multipart/form-data; boundary=x"}
    reply = send(gw.port, "POST", "/api/v1/reconciliations", b"no boundary here", headers)
    assert reply.status == 422 and reply.json()["errors"][0]["field"] == "file", reply.body


# ---- the EMS push --------------------------------------------------------------------------------


def _push(waybill: str, scans: int) -> bytes:
    start = datetime.now(CHINA) - timedelta(days=2)
    items = [
        {
            "waybillNo": waybill,
            "opCode": "305",
            "opName": "运输",
            "opTime": (start + timedelta(seconds=n)).strftime("%Y-%m-%d %H:%M:%S"),
            "opDesc": f"邮件离开【吉安市邮区中心局】，正发往【安福县】（第 {n} 次）",
            "opOrgName": "吉安市邮区中心局",
            "opOrgProvName": "江西省",
            "opOrgCity": "吉安市",
        }
        for n in range(scans)
    ]
    body = {
        "logitcsInterface": seal(json.dumps(items, ensure_ascii=False), DEFAULT_SIGN_KEY), "method": "040002",
        "msgType": "0", "senderNo": DEFAULT_SENDER_NO, "serialNo": f"s{time.time_ns()}", "timeStamp": "",
        "version": "V1.0.0",
    }  # fmt: skip
    return json.dumps(body).encode()


@pytest.mark.parametrize("way", WAYS)
def test_an_ems_push_of_600_scans_in_pieces_is_accepted(gw, staff, way):
    d = _booked(gw, staff, _case())
    body = _push(d["waybill_no"], 600)
    assert len(body) > 150_000
    headers = {"Content-Type": "application/json"}
    reply = send(gw.port, "POST", "/api/v1/carriers/ems/push", body, headers, way=way, pieces=8, pause=0.01)
    assert reply.status == 200 and reply.json()["code"] == "00000", reply.body


def test_an_ems_push_past_its_limit_is_413(gw):
    sent = b'{"logitcsInterface": "' + b"A" * (MIB + 64 * 1024)
    reply = send_unfinished(gw.port, "POST", "/api/v1/carriers/ems/push", sent, way=CHUNKS)
    assert reply.status == 413


# ---- the console -----------------------------------------------------------------------------------


def _login(gw, name: str, way: str, pad: int = 0) -> str:
    form = urlencode({"csrf": "t0ken", "name": name, "password": PASSWORD, "next": "/console/" + "x" * pad})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "certpost_login=t0ken"}
    reply = send(gw.port, "POST", "/console/login", form.encode(), headers, way=way, pieces=5)
    assert reply.status == 303, reply.body
    return re.search(r"certpost_session=([^;]+)", reply.headers["Set-Cookie"]).group(1)


@pytest.fixture(scope="module")
def clerk(gw):
    add_user(gw, "body-clerk", "finance")
    return "body-clerk"


@pytest.mark.parametrize("way", WAYS)
def test_signing_in_with_the_form_in_pieces(gw, clerk, way):
    assert _login(gw, clerk, way, pad=2_000)


@pytest.mark.parametrize("way", WAYS)
def test_the_login_form_is_413_past_8_kib_before_its_csrf_check(gw, way):
    """No login cookie at all: past 8 KiB the answer is 413 (the body is not read), never a 60 MiB read."""
    sent = b"name=x&password=" + b"p" * 9_000 if way == CHUNKS else b""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    reply = send_unfinished(gw.port, "POST", "/console/login", sent, headers, way=way, declared=60 * MIB)
    assert reply.status == 413 and "过大" in reply.body.decode()


def test_a_login_form_that_does_not_parse_is_400_in_chinese(gw):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": "certpost_login=t0ken"}
    reply = send(gw.port, "POST", "/console/login", b"csrf=t0ken&name=\xff\xfe", headers)
    assert reply.status == 400 and "格式不正确" in reply.body.decode()


@pytest.mark.parametrize("way", WAYS)
def test_a_console_statement_upload_in_pieces_is_reconciled_from_every_line(gw, staff, clerk, way):
    session = _login(gw, clerk, SEGMENTS)
    cookie = {"Cookie": f"certpost_session={session}"}
    page = send(gw.port, "GET", "/console/finance", b"", cookie).body.decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    period = "2025-05" if way == SEGMENTS else "2025-06"
    body, kind = _multipart({"csrf": csrf, "period": period}, _statement(20_000))
    headers = {**cookie, "Content-Type": kind, "X-Requested-With": "fetch"}
    reply = send(gw.port, "POST", "/console/finance/upload", body, headers, way=way, pieces=12, pause=0.01)
    assert reply.status == 200, reply.body
    status, run = gw.request("GET", f"/api/v1/reconciliations/{reply.json()['id']}", headers=staff["finance"])
    assert status == 200 and run["totals"]["lines"] == 20_000


def test_a_console_form_past_its_limit_is_413(gw, clerk):
    session = _login(gw, clerk, SEGMENTS)
    headers = {"Cookie": f"certpost_session={session}", "Content-Type": "application/x-www-form-urlencoded"}
    sent = b"csrf=x&run_id=" + b"a" * 300_000
    reply = send_unfinished(
        gw.port, "POST", "/console/finance/periods/2025-07/close", sent, headers, way=CHUNKS
    )
    assert reply.status == 413


# ---- the EMS simulator mounted at /sandbox -----------------------------------------------------------


@pytest.mark.parametrize("way", WAYS)
def test_the_simulators_rest_soap_and_control_endpoints_read_bodies_whole(gw, staff, way):
    waybill = _booked(gw, staff, _case())["waybill_no"]
    settings = EmsOpenSettings("", DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY)
    fields = mapping.envelope(mapping.TRACE, mapping.trace_request(waybill), settings, datetime.now(CHINA))
    form = urlencode({**fields, "pad": "x" * 100_000}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    rest = send(gw.port, "POST", "/sandbox" + REST_PATH, form, headers, way=way)
    assert rest.status == 200 and rest.json()["retCode"] == "00000", rest.body

    soap = (
        '<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<!-- {'x' * 100_000} --><soap:Body><noSuchCall/></soap:Body></soap:Envelope>"
    ).encode()
    fault = send(gw.port, "POST", "/sandbox" + SOAP_PATH, soap, {"Content-Type": "text/xml"}, way=way)
    assert "不支持的请求" in fault.body.decode(), fault.body  # a cut body would be "not XML"

    body = _padded({"to": "delivered"}, 100_000)
    path = "/sandbox/_control/parcels/NOSUCHWAYBILL/advance"
    admin = {"Authorization": f"Bearer {gw.staff_token(f'bodies-control-{way}', 'admin')}"}
    control = send(gw.port, "POST", path, body, {"Content-Type": "application/json", **admin}, way=way)
    assert control.status == 404, control.body  # a cut body would be 400 "body must be JSON"
