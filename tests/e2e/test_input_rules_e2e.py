"""Input rules over a real socket against a real `certpost serve`: odd timestamps, odd text, every bad
field in one 422, unknown query values."""

import hashlib
import hmac
import json
import time

import pytest

from tests.e2e.gateway import CLIENT, SECRET
from tests.fixtures.dispatches import intake_body


def signed_as_sent(body: bytes, timestamp: str) -> dict:
    """Headers a client would send after signing exactly this timestamp text."""
    raw = timestamp.encode()
    sig = hmac.new(SECRET.encode(), raw + b"." + body, hashlib.sha256).hexdigest()
    # bytes: urllib sends them as they are (full-width digits are not latin-1)
    return {"X-Client-Id": CLIENT, "X-Timestamp": raw, "X-Signature": sig, "Content-Type": "application/json"}


def listing(gw, staff, query=""):
    return gw.request("GET", f"/api/v1/dispatches{query}", headers=staff["dispatcher"])


def test_a_timestamp_that_is_not_ascii_digits_is_401_even_when_signed(gw, staff):
    body = json.dumps(intake_body("RULES-TS")).encode()
    now = str(int(time.time()))
    full_width = now.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for timestamp in ("+" + now, now[:4] + "_" + now[4:], full_width, "0" + now + "0" * 2):
        status, answer = gw.request("POST", "/api/v1/dispatches", body, signed_as_sent(body, timestamp))
        assert status == 401 and "X-Timestamp" in answer["error"], (timestamp, answer)
    assert listing(gw, staff, "?q=RULES-TS")[1]["total"] == 0
    status, _ = gw.request("POST", "/api/v1/dispatches", body, signed_as_sent(body, now))
    assert status == 201


def test_control_bidi_and_invisible_text_is_422_naming_every_field(gw, staff):
    address = {**intake_body()["address"], "detail": "王屯村\r\n12号", "town": "\u200b\u200b"}
    body = intake_body(
        "RULES-TEXT",
        matter_name="食品\x00经营许可证",
        recipient={"name": "\u202e明小王", "phone": "13807961234"},
        address=address,
    )
    status, answer = gw.submit(body)
    assert status == 422
    fields = {e["field"]: e["message"] for e in answer["errors"]}
    assert set(fields) == {"matter_name", "recipient.name", "address.detail", "address.town"}
    assert "控制字符" in fields["matter_name"] and "控制字符" in fields["address.detail"]
    assert "文字方向" in fields["recipient.name"] and "不可见" in fields["address.town"]
    assert listing(gw, staff, "?q=RULES-TEXT")[1]["total"] == 0


def test_a_bad_phone_no_longer_hides_the_missing_village_point_code(gw):
    body = intake_body(
        "RULES-CROSS", delivery_method="village_point", recipient={"name": "王小明", "phone": "12345"}
    )
    status, answer = gw.submit(body)
    assert status == 422
    assert sorted(e["field"] for e in answer["errors"]) == ["recipient.phone", "village_point_code"]


def test_a_staff_correction_refuses_odd_text(gw, staff):
    body = json.dumps({"recipient": {"name": "王\u2066小明", "phone": "13807961234"}}).encode()
    status, answer = gw.request("PATCH", "/api/v1/dispatches/any", body, staff["dispatcher"])
    assert status == 422 and [e["field"] for e in answer["errors"]] == ["recipient.name"]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("?status=bogus", ["status"]),
        ("?status=booked,bogus", ["status"]),
        ("?status=bogus&limit=ten&offset=-1", ["status", "limit", "offset"]),
        ("?limit=%EF%BC%91%EF%BC%90", ["limit"]),  # full-width 10
    ],
)
def test_an_unknown_query_value_is_422_naming_the_parameter(gw, staff, query, fields):
    status, answer = listing(gw, staff, query)
    assert status == 422, answer
    assert [e["field"] for e in answer["errors"]] == fields


def test_known_query_values_still_list(gw, staff):
    status, answer = listing(gw, staff, "?status=received,booked&limit=5&offset=0")
    assert status == 200 and "dispatches" in answer
