"""The example client the vendor copies (examples/approval_client.py), against a real `certpost serve`:
sign and submit, replay (200, the same answer), read the dispatch back, and receive a real delivery
callback whose signature the example verifies (and refuses once a byte is changed)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from examples.approval_client import (
    EXAMPLE,
    CertpostClient,
    InvalidSignature,
    sign,
    verify_callback,
)
from logistics.domain import signing
from tests.e2e.gateway import CLIENT, SECRET, Gateway, free_port


class ApprovalSystem:
    """The vendor's callback endpoint, written with the example's verify_callback."""

    def __init__(self):
        self.received: list[tuple[dict, bytes, dict]] = []  # (headers, raw body, verified event)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    event = verify_callback(self.headers, body, SECRET, CLIENT)
                except InvalidSignature:
                    self.send_response(401)
                else:
                    outer.received.append((dict(self.headers), body, event))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callbacks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def setup(tmp_path):
    receiver = ApprovalSystem()
    gw = Gateway(tmp_path, CERTPOST_CALLBACK_URL=receiver.url, CERTPOST_CALLBACK_RETRY_BASE_S="0.2").start()
    yield gw, receiver
    gw.stop()
    receiver.server.shutdown()
    receiver.server.server_close()


def test_the_example_runs_on_its_own_against_a_server(setup):
    """Copied alone (standard library only), as the vendor would run it: submit and replay."""
    gw, _ = setup
    script = Path(__file__).resolve().parents[2] / "examples" / "approval_client.py"
    run = subprocess.run(
        [sys.executable, "-I", str(script), gw.base, CLIENT, SECRET],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and "submit: 201 replay: 200 same answer: True" in run.stdout, run


def test_the_signature_is_the_servers():
    body = json.dumps(EXAMPLE, ensure_ascii=False).encode()
    assert sign(SECRET, "1796000000", body) == signing.signature(SECRET, "1796000000", body)


def test_the_example_client_submits_replays_and_verifies_a_callback(setup):
    gw, receiver = setup
    client = CertpostClient(gw.base, CLIENT, SECRET)
    body = json.dumps({**EXAMPLE, "case_no": "EXAMPLE-1"}, ensure_ascii=False).encode()
    status, first = client.submit_raw(body)
    assert status == 201 and first["case_no"] == "EXAMPLE-1", first
    assert client.submit_raw(body) == (200, first)  # a replay after a timeout: the same answer
    status, other = client.submit({**EXAMPLE, "case_no": "EXAMPLE-1", "weight_g": 300})
    assert status == 409 and "error" in other
    status, invalid = client.submit({**EXAMPLE, "case_no": "EXAMPLE-2", "weight_g": 0})
    assert status == 422 and invalid["errors"][0]["field"] == "weight_g"
    assert CertpostClient(gw.base, CLIENT, "wrong-secret").submit_raw(body)[0] == 401

    deadline, dispatch = time.time() + 60, {}
    while not dispatch.get("waybill_no"):
        assert time.time() < deadline, dispatch
        status, dispatch = client.get(first["id"])
        assert status == 200 and dispatch["events"]
        time.sleep(0.2)
    assert gw.control("POST", f"/parcels/{dispatch['waybill_no']}/advance", {"to": "delivered"})[0] == 200
    while not receiver.received:
        assert time.time() < deadline, "no callback arrived"
        time.sleep(0.2)

    headers, raw, event = receiver.received[0]
    assert (event["case_no"], event["status"], event["dispatch_id"]) == (
        "EXAMPLE-1",
        "delivered",
        first["id"],
    )
    with pytest.raises(InvalidSignature):
        verify_callback(headers, raw.replace(b"delivered", b"returned"), SECRET, CLIENT)
    with pytest.raises(InvalidSignature):
        verify_callback(headers, raw, "another-secret", CLIENT)
    with pytest.raises(InvalidSignature):
        verify_callback(headers, raw, SECRET, CLIENT, now=int(headers["X-Timestamp"]) + 301)
