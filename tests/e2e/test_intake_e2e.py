"""Signed intake over a real socket against a real `certpost serve` process."""

import json
import threading
import time

import pytest

from tests.e2e.gateway import Gateway, sign
from tests.fixtures.dispatches import intake_body


def test_new_replay_conflict(gateway):
    status, first = gateway.submit(intake_body("E2E-1"))
    assert status == 201 and first["status"] == "received" and first["waybill_no"] is None
    status, replay = gateway.submit(intake_body("E2E-1"))
    assert (status, replay) == (200, first)
    status, error = gateway.submit(intake_body("E2E-1", weight_g=900))
    assert status == 409 and "E2E-1" in error["error"]


def test_signatures(gateway):
    body = json.dumps(intake_body("E2E-2")).encode()
    stale = int(time.time()) - 301
    cases = [
        sign(body, secret="wrong"),
        sign(body, ts=stale),
        sign(body, client="stranger"),
        {**sign(body), "X-Signature": ""},
        {"Content-Type": "application/json"},
    ]
    for headers in cases:
        status, error = gateway.request("POST", "/api/v1/dispatches", body, headers)
        assert status == 401 and error["error"]
    tampered = body.replace(b"E2E-2", b"E2E-3")
    assert gateway.request("POST", "/api/v1/dispatches", tampered, sign(body))[0] == 401
    token = gateway.staff_token("auditor", "admin")
    status, listing = gateway.request(
        "GET", "/api/v1/dispatches", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200 and listing["total"] == 0  # nothing was stored by any refused request


ADDRESS = intake_body()["address"]
BAD_INPUTS = [
    ("recipient.phone", intake_body(recipient={"name": "王小明", "phone": "12345"})),
    ("recipient.phone", intake_body(recipient={"name": "王小明", "phone": "0796-12"})),
    ("address.county", intake_body(address={k: v for k, v in ADDRESS.items() if k != "county"})),
    ("address.city", intake_body(address={**ADDRESS, "city": ""})),
    ("address.postcode", intake_body(address={**ADDRESS, "postcode": "3432000"})),
    ("village_point_code", intake_body(delivery_method="village_point")),
    ("items", intake_body(items=[])),
    ("completed_at", intake_body(completed_at="2026-11-05 10:00")),
    ("completed_at", intake_body(completed_at="2026-11-05T10:00:00")),
    ("weight_g", intake_body(weight_g=-5)),
    ("body", b"not json at all"),
    ("body", b""),
    ("body", b"[]"),
]


@pytest.mark.parametrize(("field", "payload"), BAD_INPUTS)
def test_bad_input_is_422_naming_the_field(gateway, field, payload):
    status, error = gateway.submit(payload)
    assert status == 422
    assert field in [e["field"] for e in error["errors"]]


def test_oversized_body_is_413(gateway):
    status, _ = gateway.submit(intake_body("E2E-BIG", matter_name="证" * 400_000))
    assert status == 413


def test_concurrent_duplicates_make_one_dispatch(gateway):
    results = []

    def submit():
        results.append(gateway.submit(intake_body("E2E-DUP")))

    threads = [threading.Thread(target=submit) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in results)
    assert codes == [200] * 23 + [201]
    assert len({body["id"] for _, body in results}) == 1


def test_reading_dispatches_needs_the_right_credentials(gateway):
    _, d = gateway.submit(intake_body("E2E-READ"))
    path = f"/api/v1/dispatches/{d['id']}"
    assert gateway.request("GET", path)[0] == 401
    assert gateway.request("GET", path, headers={"Authorization": "Bearer nope"})[0] == 401
    finance = gateway.staff_token("fin", "finance")
    dispatcher = gateway.staff_token("disp", "dispatcher")
    status, full = gateway.request("GET", path, headers={"Authorization": f"Bearer {dispatcher}"})
    assert status == 200 and [e["cause"] for e in full["events"]] == ["intake"]
    # the owning client reads it signed over an empty body
    assert gateway.request("GET", path, headers=sign(b""))[0] == 200
    # finance may read but not act on dispatches
    assert gateway.request("GET", path, headers={"Authorization": f"Bearer {finance}"})[0] == 200
    cancel = f"{path}/cancel"
    assert gateway.request("POST", cancel, b"", {"Authorization": f"Bearer {finance}"})[0] == 403
    status, cancelled = gateway.request("POST", cancel, b"", {"Authorization": f"Bearer {dispatcher}"})
    assert status == 200 and cancelled["status"] == "cancelled"


def test_a_201_survives_kill_9_right_after_the_response(tmp_path):
    gw = Gateway(tmp_path, CERTPOST_AUTO_BOOK="false").start()
    try:
        ids = []
        for i in range(20):
            status, d = gw.submit(intake_body(f"E2E-CRASH-{i}"))
            assert status == 201
            ids.append(d["id"])
        gw.kill9()  # no shutdown, no flush: only what was committed survives
        gw.start()
        token = gw.staff_token("after-crash", "admin")
        for dispatch_id in ids:
            status, d = gw.request(
                "GET", f"/api/v1/dispatches/{dispatch_id}", headers={"Authorization": f"Bearer {token}"}
            )
            assert status == 200 and d["id"] == dispatch_id
    finally:
        gw.stop()


def test_users_cli_validates_role_and_duplicates(gateway):
    assert gateway.cli("users", "add", "x", "--role", "king").returncode == 2
    assert gateway.cli("users", "add", "dup", "--role", "admin").returncode == 0
    again = gateway.cli("users", "add", "dup", "--role", "admin")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_healthz_reports_each_dependency(gateway):
    status, health = gateway.request("GET", "/healthz")
    assert status == 200 and health["checks"]["database"]["ok"] is True
    assert health["checks"]["carrier"]["ok"] is True


def test_staff_correct_the_address_and_book_by_hand(gateway):
    _, d = gateway.submit(intake_body("E2E-FIX"))
    token = gateway.staff_token("fixer", "dispatcher")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    path = f"/api/v1/dispatches/{d['id']}"
    bad = json.dumps({"address": {**ADDRESS, "postcode": "1"}}).encode()
    status, error = gateway.request("PATCH", path, bad, auth)
    assert status == 422 and error["errors"][0]["field"] == "address.postcode"
    assert gateway.request("PATCH", path, b"{}", auth)[0] == 422
    fixed = json.dumps({"address": {**ADDRESS, "detail": "王屯村13号"}}, ensure_ascii=False).encode()
    status, after = gateway.request("PATCH", path, fixed, auth)
    assert status == 200 and after["address"]["detail"] == "王屯村13号"
    status, _ = gateway.request("POST", f"{path}/book", b"", auth)
    assert status == 202
    _, full = gateway.request("GET", path, headers=auth)
    causes = [e["cause"] for e in full["events"]]
    assert causes.index("recipient details corrected") < causes.index("booking requested")
