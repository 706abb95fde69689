"""Golden tests of the WebService mapping: envelopes built by zeep (never sent) equal recorded XML after
canonicalization; recorded replies go through zeep's own reply processing and parse to results or errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import requests
from ems_samples import NOW, SENDER_NO, SHIPMENT, SIGN_KEY
from lxml import etree
from zeep.exceptions import Fault, TransportError
from zeep.proxy import AsyncServiceProxy

from adapters.ems import codes
from adapters.ems.soap import mapping as m
from adapters.ems.soap.client import soap_client
from adapters.ems.soap.settings import EmsSoapSettings
from logistics.domain.status import Status
from logistics.ports import Booking, CarrierAuthError, CarrierRejected, CarrierUnavailable

FIXTURES = Path(__file__).parent / "fixtures" / "ems_soap"
SETTINGS = EmsSoapSettings(endpoint="http://ems.test/soap", sender_no=SENDER_NO, sign_key=SIGN_KEY)
PARAMS = {
    "createOrder": m.create_order_params(SHIPMENT, SETTINGS, NOW),
    "queryOrder": m.query_order_params("RES20261105A1", SETTINGS, NOW),
    "cancelOrder": m.cancel_order_params("RES20261105A1", "1110000001736", "customer", SETTINGS, NOW),
    "queryTrace": m.query_trace_params("1110000001736", SETTINGS, NOW),
    "getBillNumBySys": m.bill_numbers_params(3, SETTINGS, NOW),
    "updatePrintDatas": m.print_data_params(replace(SHIPMENT, waybill_no="1110000001736"), SETTINGS, NOW),
    "checkCollectionRange": m.collection_range_params(SHIPMENT.receiver_address, SETTINGS, NOW),
}


@pytest.fixture(scope="module")
def client():
    return soap_client(5.0)


@pytest.fixture(scope="module")
def service(client):
    return AsyncServiceProxy(client, client.wsdl.bindings[m.BINDING], address=SETTINGS.endpoint)


def canonical(xml: bytes | etree._Element) -> bytes:
    tree = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True)) if isinstance(xml, bytes) else xml
    return etree.tostring(tree, method="c14n2", strip_text=True)


def reply(client, operation: str, fixture: str, status: int = 200):
    response = requests.Response()
    response._content = (FIXTURES / fixture).read_bytes()
    response.status_code = status
    response.headers["Content-Type"] = "text/xml; charset=utf-8"
    binding = client.wsdl.bindings[m.BINDING]
    return binding.process_reply(client, binding.get(operation), response)


@pytest.mark.parametrize("operation", sorted(PARAMS))
def test_built_envelope_equals_the_recorded_one(client, service, operation):
    envelope = client.create_message(service, operation, **PARAMS[operation])
    assert canonical(envelope) == canonical((FIXTURES / f"{operation}.request.xml").read_bytes())


def test_cancel_reasons_map_to_ems_cancel_codes():
    assert m.cancel_order_params("R", None, "duplicate", SETTINGS, NOW)["cancelCode"] == "16"
    assert m.cancel_order_params("R", None, "26", SETTINGS, NOW)["cancelCode"] == "26"
    assert m.cancel_order_params("R", None, "申请人撤回", SETTINGS, NOW)["cancelCode"] == "28"


def test_create_order_reply_gives_the_booking(client):
    booking = m.parse_create_order_response(reply(client, "createOrder", "createOrder.response.xml"))
    assert booking == Booking("RES20261105B2", "1110000002536")


def test_query_order_finds_the_booking_or_none(client):
    found = m.parse_query_order_response(reply(client, "queryOrder", "queryOrder.response.xml"))
    assert found == Booking("RES20261105A1", "1110000001736")
    assert (
        m.parse_query_order_response(reply(client, "queryOrder", "queryOrder_not_found.response.xml")) is None
    )


def test_business_error_is_rejected_with_the_carriers_reason(client):
    with pytest.raises(CarrierRejected) as caught:
        m.parse_create_order_response(reply(client, "createOrder", "createOrder_business_error.response.xml"))
    assert caught.value.code == codes.ADDRESS_UNREACHABLE and "投递范围" in str(caught.value)


def test_auth_fault_is_auth_error(client):
    with pytest.raises(Fault) as caught:
        reply(client, "queryTrace", "auth_fault.response.xml", status=500)
    error = m.error_from_fault(caught.value)
    assert isinstance(error, CarrierAuthError) and error.code == "A0001"


def test_busy_fault_is_unavailable_with_retry_after(client):
    with pytest.raises(Fault) as caught:
        reply(client, "queryTrace", "busy_fault.response.xml", status=500)
    error = m.error_from_fault(caught.value)
    assert isinstance(error, CarrierUnavailable) and error.retry_after == 1.0


def test_garbage_does_not_parse(client):
    with pytest.raises(TransportError):
        reply(client, "queryTrace", "garbage.response.xml")


def test_trace_numbers_and_range_replies(client):
    events = m.parse_query_trace_response(reply(client, "queryTrace", "queryTrace.response.xml"))
    assert [e.raw_code for e in events] == ["203", "305", "954", "389", "306", "702", "705"]
    assert events[-1].status is Status.DELIVERY_FAILED and events[-1].waybill_no == "1110000001736"
    numbers = m.parse_bill_numbers_response(reply(client, "getBillNumBySys", "getBillNumBySys.response.xml"))
    assert numbers == ["1110000003436", "1110000004836", "1110000005136"]
    assert (
        m.parse_collection_range_response(
            reply(client, "checkCollectionRange", "checkCollectionRange.response.xml")
        )
        is True
    )


def test_allocation_batches_are_1_to_100():
    with pytest.raises(ValueError):
        m.bill_numbers_params(101, SETTINGS, NOW)
