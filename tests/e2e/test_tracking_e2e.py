"""Tracking end to end: a real `certpost serve`, the EMS simulator pushing (in-process) or only being
polled (`certpost sandbox` alone), an approval-system receiver on loopback, and citizens guessing."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from adapters.ems.crypto import seal
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY
from logistics.domain.signing import verify
from tests.e2e.gateway import SECRET, Gateway, carrier_env, free_port, sandbox_command
from tests.fixtures.dispatches import intake_body

FAST_POLLS = {
    "CERTPOST_POLL_FIRST_S": "1", "CERTPOST_POLL_TICK_S": "0.5", "CERTPOST_POLL_NOT_COLLECTED_S": "1",
    "CERTPOST_POLL_ACTIVE_S": "1", "CERTPOST_POLL_OUT_FOR_DELIVERY_S": "1",
    "CERTPOST_CALLBACK_RETRY_BASE_S": "0.3",
}  # fmt: skip
CHINA = timezone(timedelta(hours=8))


class Receiver:
    """The approval system's callback endpoint; keeps callbacks with a valid signature, once per event id."""

    def __init__(self):
        self.port, self.events, self.server = free_port(), {}, None
        self.url = f"http://127.0.0.1:{self.port}/callbacks"

    def up(self):
        events = self.events

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                h = self.headers
                ok = not verify(
                    SECRET, h["X-Timestamp"], body, h["X-Signature"], now_s=time.time(), window_s=300
                )
                if ok:
                    event = json.loads(body)
                    events.setdefault(event["event_id"], event)
                self.send_response(200 if ok else 401)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def wait_for(fn, timeout=60.0, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def staff_get(gw, path, token):
    return gw.request("GET", path, headers={"Authorization": f"Bearer {token}"})


def book(gw, case_no, token):
    status, d = gw.submit(intake_body(case_no))
    assert status == 201
    waybill = wait_for(lambda: staff_get(gw, f"/api/v1/dispatches/{d['id']}", token)[1].get("waybill_no"))
    return d["id"], waybill


def push(gw, item: dict):
    body = {
        "logitcsInterface": seal(json.dumps(item, ensure_ascii=False), DEFAULT_SIGN_KEY), "method": "040002",
        "msgType": "0", "senderNo": DEFAULT_SENDER_NO, "serialNo": f"s{time.time_ns()}", "timeStamp": "",
        "version": "V1.0.0",
    }  # fmt: skip
    return gw.request(
        "POST", "/api/v1/carriers/ems/push", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.down()


@pytest.fixture
def pushing(tmp_path, receiver):
    receiver.up()
    gw = Gateway(tmp_path, CERTPOST_CALLBACK_URL=receiver.url, **FAST_POLLS).start()
    yield gw
    gw.stop()


def test_pushes_walk_a_parcel_to_delivered_and_tell_the_approval_system_and_the_citizen_once(
    pushing, receiver
):
    gw = pushing
    token = gw.staff_token("desk", "dispatcher")
    dispatch_id, waybill = book(gw, "E2E-TRK-1", token)
    status, _ = gw.control("POST", f"/parcels/{waybill}/advance", {"to": "delivered"})
    assert status == 200
    url = f"/api/v1/dispatches/{dispatch_id}"
    wait_for(lambda: staff_get(gw, url, token)[1]["status"] == "delivered")
    wait_for(lambda: receiver.events)
    # A duplicate and a late, older "in transit" push: answered with success, never applied.
    late = (datetime.now(CHINA) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    late_scan = {"waybillNo": waybill, "opCode": "305", "opTime": late, "opDesc": "迟到的运输扫描"}
    for _ in range(2):
        status, answer = push(gw, late_scan)
        assert status == 200 and answer["code"] == "00000"
    status, answer = push(gw, {"waybillNo": waybill})  # no opCode, no time: refused, EMS may retry
    assert status == 400 and answer["code"] != "00000"
    time.sleep(1)
    assert staff_get(gw, url, token)[1]["status"] == "delivered"
    [event] = receiver.events.values()
    assert (event["case_no"], event["status"], event["waybill_no"]) == ("E2E-TRK-1", "delivered", waybill)
    sms = wait_for(
        lambda: [
            m
            for m in gw.control("GET", "/sms")[1]["messages"]
            if m["params"]["waybill_no"] == waybill and m["template"] == "delivered"
        ]
    )
    templates = sorted(m["template"] for m in gw.control("GET", "/sms")[1]["messages"])
    assert templates == ["booked", "delivered", "out_for_delivery"] and sms[0]["phone"] == "138******34"
    status, tracked = gw.request("GET", f"/api/v1/track?waybill_no={waybill}&phone_last4=1234")
    assert status == 200 and tracked["status"] == "delivered"
    assert any(e["description"] == "迟到的运输扫描" for e in tracked["events"])  # stored for the record
    admin = gw.staff_token("boss", "admin")
    counters = staff_get(gw, "/api/v1/metrics", admin)[1]["counters"]
    assert counters["tracking.events_duplicate"] >= 1


def test_a_citizen_guessing_numbers_gets_the_same_404_and_then_429(pushing):
    gw = pushing
    token = gw.staff_token("desk", "dispatcher")
    _, waybill = book(gw, "E2E-TRK-2", token)
    answers = [
        gw.request("GET", f"/api/v1/track?waybill_no=11000000{i:05d}&phone_last4=1234") for i in range(10)
    ]
    assert {a[0] for a in answers} == {404} and len({json.dumps(a[1]) for a in answers}) == 1
    assert gw.request("GET", f"/api/v1/track?waybill_no={waybill}&phone_last4=1234")[0] == 429


@pytest.fixture
def polled_only(tmp_path, receiver):
    port = free_port()
    sim = subprocess.Popen(sandbox_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gw = Gateway(
        tmp_path, **carrier_env(f"http://127.0.0.1:{port}"), CERTPOST_CALLBACK_URL=receiver.url, **FAST_POLLS
    )
    try:
        gw.start()
        yield gw, f"http://127.0.0.1:{port}"
    finally:
        gw.stop()
        sim.terminate()
        sim.wait(10)


def test_without_pushes_polling_finds_the_failure_and_the_callback_waits_for_the_receiver(
    polled_only, receiver
):
    gw, sim = polled_only
    token = gw.staff_token("desk", "dispatcher")
    dispatch_id, waybill = book(gw, "E2E-TRK-3", token)
    body = json.dumps({"to": "delivery_failed"}).encode()
    req = urllib.request.Request(
        f"{sim}/_control/parcels/{waybill}/advance", data=body, headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(req, timeout=10).read()
    url = f"/api/v1/dispatches/{dispatch_id}"
    wait_for(lambda: staff_get(gw, url, token)[1]["status"] == "delivery_failed", timeout=30)
    exceptions = staff_get(gw, "/api/v1/exceptions", token)[1]["exceptions"]
    assert any(e["kind"] == "delivery_failed" and e["reason"] == "收件人不在，未妥投" for e in exceptions)
    time.sleep(1.5)  # the receiver is down: the callback is being retried
    assert not receiver.events
    receiver.up()
    [event] = wait_for(lambda: list(receiver.events.values()), timeout=30)
    assert (event["status"], event["reason"]) == ("delivery_failed", "收件人不在，未妥投")
