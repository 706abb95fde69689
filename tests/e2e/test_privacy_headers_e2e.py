"""Finance reads dispatches without who they go to; the citizen page's CSP runs no injected script and
cannot be framed; no JSON answer is sniffed into something else."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.e2e.gateway import sign
from tests.fixtures.dispatches import intake_body

NAME, PHONE, DETAIL = "欧阳小明", "13907965678", "城南路88号3栋502室"


def raw(gw, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """Status, headers and body of one request."""
    req = urllib.request.Request(gw.base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.fixture(scope="module")
def recipient_dispatch(gw):
    address = intake_body()["address"] | {"detail": DETAIL}
    status, d = gw.submit(intake_body("PRIV-1", recipient={"name": NAME, "phone": PHONE}, address=address))
    assert status == 201
    return d["id"]


def test_finance_sees_dispatches_with_the_recipient_masked(gw, staff, recipient_dispatch):
    for path in ("/api/v1/dispatches?q=PRIV-1", f"/api/v1/dispatches/{recipient_dispatch}"):
        status, _, body = raw(gw, "GET", path, headers=staff["finance"])
        assert status == 200
        text = body.decode()
        for secret in (NAME, PHONE, PHONE[-8:], "88号", "3栋502"):
            assert secret not in text, f"{secret} shown to finance at {path}"
        answer = json.loads(body)
        d = answer["dispatches"][0] if "dispatches" in answer else answer
        assert d["recipient"] == {"name": "欧**明", "phone": "139******78"}
        assert d["address"]["detail"] == "城南路**号****" and d["address"]["county"] == "安福县"
        assert d["case_no"] == "PRIV-1" and d["department_code"] == "SCJGJ"  # what finance works with


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
def test_dispatchers_and_admins_see_the_recipient(gw, staff, recipient_dispatch, role):
    status, listing = gw.request("GET", "/api/v1/dispatches?q=PRIV-1", headers=staff[role])
    assert status == 200
    [d] = listing["dispatches"]
    assert d["recipient"] == {"name": NAME, "phone": PHONE} and d["address"]["detail"] == DETAIL
    status, one = gw.request("GET", f"/api/v1/dispatches/{recipient_dispatch}", headers=staff[role])
    assert one["recipient"]["phone"] == PHONE


def test_the_owning_client_still_reads_its_dispatch_in_full(gw, recipient_dispatch):
    status, d = gw.request("GET", f"/api/v1/dispatches/{recipient_dispatch}", headers=sign(b""))
    assert status == 200 and d["recipient"]["name"] == NAME


def test_the_citizen_page_allows_only_its_own_inline_blocks_and_no_framing(gw):
    status, headers, _ = raw(gw, "GET", "/track")
    assert status == 200
    csp = {
        directive.split()[0]: directive.split()[1:]
        for directive in (part.strip() for part in headers["Content-Security-Policy"].split(";"))
    }
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] and all(s.startswith("'sha256-") for s in csp["script-src"])
    assert csp["style-src"] and all(s.startswith("'sha256-") for s in csp["style-src"])
    assert csp["connect-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


def test_every_json_answer_says_nosniff(gw, staff, recipient_dispatch):
    body = json.dumps(intake_body("PRIV-NOSNIFF"), ensure_ascii=False).encode()
    calls = [
        ("POST", "/api/v1/dispatches", body, sign(body)),  # intake's own fast path
        ("POST", "/api/v1/dispatches", body, sign(body)),  # the replay
        ("POST", "/api/v1/dispatches", b"{}", {"Content-Type": "application/json"}),  # 401
        ("GET", "/api/v1/dispatches", None, staff["dispatcher"]),
        ("GET", f"/api/v1/dispatches/{recipient_dispatch}", None, staff["finance"]),
        ("GET", "/api/v1/reconciliations", None, staff["dispatcher"]),  # 403
        ("GET", "/api/v1/track?waybill_no=1100000000001&phone_last4=0000", None, {}),  # 404
        ("GET", "/api/v1/no-such-thing", None, {}),
        ("GET", "/healthz", None, {}),
        ("GET", "/sandbox/_control/orders", None, staff["admin"]),
        ("GET", "/sandbox/_control/orders", None, {}),  # 401 from the guard
    ]
    for method, path, data, headers in calls:
        status, answer, _ = raw(gw, method, path, data, headers)
        assert answer.get("X-Content-Type-Options") == "nosniff", (method, path, status)
        if path != "/api/v1/no-such-thing":
            assert answer["Content-Type"].startswith("application/json"), (method, path, status)
