"""Golden tests of the open-platform mapping: built requests equal recorded ones, recorded replies parse."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from ems_samples import NOW, SENDER_NO, SHIPMENT, SIGN_KEY

from adapters.ems import codes
from adapters.ems.crypto import unseal
from adapters.ems.open import mapping as m
from adapters.ems.open.settings import EmsOpenSettings
from logistics.domain.status import Status
from logistics.ports import (
    Booking,
    CarrierAuthError,
    CarrierRejected,
    CarrierUnavailable,
    Quote,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ems_open"
SETTINGS = EmsOpenSettings(endpoint="http://ems.test/api/open", sender_no=SENDER_NO, sign_key=SIGN_KEY)
REQUESTS = {
    "create_order": (m.CREATE_ORDER, m.create_order_request(SHIPMENT, SETTINGS, NOW)),
    "create_order_insured_with_pool_number": (
        m.CREATE_ORDER,
        m.create_order_request(
            replace(SHIPMENT, declared_value_fen=150000, waybill_no="1110000002536"), SETTINGS, NOW
        ),
    ),
    "order_query": (m.ORDER_QUERY, m.order_query_request("RES20261105A1")),
    "cancel": (m.CANCEL_ORDER, m.cancel_request("RES20261105A1", "1110000001736", "customer")),
    "trace": (m.TRACE, m.trace_request("1110000001736")),
    "postage": (m.POSTAGE, m.postage_request(SHIPMENT, SETTINGS)),
    "reachability": (m.REACHABILITY, m.reachability_request(SHIPMENT.receiver_address)),
}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_built_request_equals_the_recorded_one(name):
    api_code, payload = REQUESTS[name]
    assert payload == json.loads(fixture(f"{name}.payload.json"))
    form = m.envelope(api_code, payload, SETTINGS, NOW)
    assert form == json.loads(fixture(f"{name}.request.json"))
    assert json.loads(unseal(form["logitcsInterface"], SETTINGS.sign_key)) == payload


def test_create_order_response_gives_the_booking():
    assert m.parse_create_order_response(fixture("create_order.response.json")) == Booking(
        "RES20261105A1", "1110000001736"
    )


def test_order_query_finds_the_booking_or_none():
    assert m.parse_order_query_response(fixture("order_query.response.json")) == Booking(
        "RES20261105A1", "1110000001736"
    )
    assert m.parse_order_query_response(fixture("order_query_not_found.response.json")) is None


def test_auth_error_reply_raises_auth_error():
    with pytest.raises(CarrierAuthError) as caught:
        m.parse_create_order_response(fixture("auth_error.response.json"))
    assert caught.value.code == "A0001"


def test_business_error_reply_raises_rejected_with_the_carriers_reason():
    with pytest.raises(CarrierRejected) as caught:
        m.parse_create_order_response(fixture("business_error.response.json"))
    assert caught.value.code == codes.ADDRESS_UNREACHABLE and "投递范围" in str(caught.value)
    with pytest.raises(CarrierRejected, match="不能撤单"):
        m.parse_cancel_response(fixture("cancel_refused.response.json"))


@pytest.mark.parametrize("raw", [fixture("garbage.response.json"), b"<html>502</html>", b"[]", b'{"ok": 1}'])
def test_garbage_is_carrier_unavailable(raw):
    with pytest.raises(CarrierUnavailable):
        m.parse_create_order_response(raw)


def test_busy_reply_is_carrier_unavailable():
    with pytest.raises(CarrierUnavailable) as caught:
        m.parse_trace_response(fixture("busy.response.json"))
    assert caught.value.code == codes.BUSY


def test_trace_reply_parses_to_ordered_normalized_events():
    events = m.parse_trace_response(fixture("trace.response.json"))
    assert [e.raw_code for e in events] == ["203", "305", "954", "389", "306", "702", "705"]
    assert [e.status for e in events][-2:] == [Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED]
    assert events[-1].reason == "收件人不在，未妥投"
    assert events[0].location == "吉安市安福县邮政营业部"
    assert events[0].time.utcoffset().total_seconds() == 8 * 3600


def test_unknown_opcode_falls_back_to_in_transit_keeping_the_raw_code():
    event = m.track_event(
        {"waybillNo": "1", "opTime": "2026-11-05 10:00:00", "opCode": "999", "opName": "新"}
    )
    assert (event.status, event.raw_code, event.description) == (Status.IN_TRANSIT, "999", "新")


def test_postage_and_reachability_replies():
    assert m.parse_postage_response(fixture("postage.response.json")) == Quote(
        total_fen=800, standard_fen=1000
    )
    assert m.parse_reachability_response(fixture("reachability.response.json")) is True
