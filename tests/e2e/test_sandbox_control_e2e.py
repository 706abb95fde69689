"""The simulator's control API (CONTRACT): inside `certpost serve` only an admin's Bearer token opens it
(it marks parcels delivered and its SMS log holds pickup codes); `certpost sandbox` alone keeps it open.
`DELETE _control/faults` clears the faults still pending."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.e2e.gateway import free_port
from tests.fixtures.dispatches import intake_body

CONTROL_CALLS = [
    ("GET", "/orders", None),
    ("GET", "/sms", None),
    ("GET", "/pushes", None),
    ("POST", "/faults", {"operation": "trace", "mode": "busy", "count": 1}),
    ("DELETE", "/faults", None),
    ("POST", "/parcels/1100000000001/advance", {"to": "delivered"}),
]


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw or b"null")
        except ValueError:
            return e.code, raw


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_CALLS)
def test_in_process_control_takes_an_admins_token(gw, staff, method, path, body):
    base = gw.base + "/sandbox/_control"
    dispatcher = staff["dispatcher"]["Authorization"].removeprefix("Bearer ")
    finance = staff["finance"]["Authorization"].removeprefix("Bearer ")
    admin = staff["admin"]["Authorization"].removeprefix("Bearer ")
    status, error = call(base, method, path, body)
    assert status == 401 and "Bearer" in error["error"]
    assert call(base, method, path, body, token="not-a-token")[0] == 401
    assert call(base, method, path, body, token=dispatcher)[0] == 403
    assert call(base, method, path, body, token=finance)[0] == 403
    status, answer = call(base, method, path, body, token=admin)
    assert status in (200, 201, 404), answer  # 404: the advanced waybill number is not booked
    if path == "/parcels/1100000000001/advance":
        assert status == 404


def wait_booked(gw, staff, dispatch_id: str, seconds: float, why: str) -> None:
    deadline = time.time() + seconds
    while not gw.request("GET", f"/api/v1/dispatches/{dispatch_id}", headers=staff["admin"])[1]["waybill_no"]:
        assert time.time() < deadline, why
        time.sleep(0.2)


def test_the_carrier_protocol_is_not_behind_the_guard(gw, staff):
    """The gateway itself calls /sandbox/api/open without a token: booking still works."""
    status, d = gw.submit(intake_body("CTRL-BOOK-1"))
    assert status == 201
    wait_booked(gw, staff, d["id"], 30, "nothing was booked through the guarded simulator")
    orders = gw.control("GET", "/orders")[1]["orders"]
    assert any(o["order_no"] for o in orders)


def test_delete_faults_clears_what_is_pending(gw, staff):
    """With 100 server errors pending the booking would retry for minutes; cleared, it books at once."""
    fault = {"operation": "create_order", "mode": "http_500", "count": 50}
    for _ in range(2):
        assert gw.control("POST", "/faults", fault)[0] == 201
    assert gw.control("DELETE", "/faults") == (200, {"cleared": 2})
    assert gw.control("DELETE", "/faults") == (200, {"cleared": 0})
    status, d = gw.submit(intake_body("CTRL-AFTER-CLEAR"))
    assert status == 201
    wait_booked(gw, staff, d["id"], 20, "not booked: faults were left pending")


def test_certpost_sandbox_alone_keeps_control_open():
    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "logistics.cli", "sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/_control"
    try:
        deadline = time.time() + 20
        while True:
            try:
                status, orders = call(base, "GET", "/orders")
                break
            except OSError:
                assert time.time() < deadline
                time.sleep(0.1)
        assert (status, orders) == (200, {"orders": []})
        fault = {"operation": "*", "mode": "busy", "count": 3}
        assert call(base, "POST", "/faults", fault)[0] == 201
        assert call(base, "DELETE", "/faults") == (200, {"cleared": 1})
    finally:
        sim.terminate()
        sim.wait(10)
