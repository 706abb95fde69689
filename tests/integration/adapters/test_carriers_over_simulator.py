"""Both EMS adapters against the simulator over real loopback sockets."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from simulator_kit import ADAPTER_TIMEOUT_S, shipment

from adapters.ems.s10 import is_valid_waybill_no
from logistics.domain.status import Status
from logistics.ports import (
    CarrierAuthError,
    CarrierRejected,
    CarrierUnavailable,
    NotSupported,
    OutcomeUnknown,
)


async def test_booking_twice_under_one_order_number_books_once(gateway, simulator):
    first = await gateway.book(shipment("RES-A"))
    again = await gateway.book(shipment("RES-A"))

    assert again == first
    assert is_valid_waybill_no(first.waybill_no)
    orders = await simulator.orders()
    assert [(o["order_no"], o["waybill_no"], o["order_type"]) for o in orders] == [
        ("RES-A", first.waybill_no, 2)
    ]


async def test_collect_order_keeps_its_order_type(gateway, simulator):
    await gateway.book(shipment("MAT-A", order_type=1))
    assert (await simulator.orders())[0]["order_type"] == 1


async def test_find_booking_answers_whether_the_carrier_holds_the_order(gateway):
    assert await gateway.find_booking("RES-B") is None
    booking = await gateway.book(shipment("RES-B"))
    assert await gateway.find_booking("RES-B") == booking


async def test_cancel_before_collection_and_refusal_after(gateway, simulator):
    booking = await gateway.book(shipment("RES-C"))
    await gateway.cancel("RES-C", booking.waybill_no, "customer")
    assert (await simulator.orders())[0]["status"] == "cancelled"

    collected = await gateway.book(shipment("RES-D"))
    await simulator.advance(collected.waybill_no, "handed_over")
    with pytest.raises(CarrierRejected) as caught:
        await gateway.cancel("RES-D", collected.waybill_no, "customer")
    assert "不能撤单" in str(caught.value)


async def test_track_follows_the_scans_emitted_by_advance(gateway, simulator):
    booking = await gateway.book(shipment("RES-E"))
    assert await gateway.track(booking.waybill_no) == []

    await simulator.advance(booking.waybill_no, "delivered")
    events = await gateway.track(booking.waybill_no)

    assert [e.raw_code for e in events] == ["203", "305", "954", "389", "306", "702", "704"]
    assert events[0].status is Status.HANDED_OVER
    assert events[-1].status is Status.DELIVERED
    assert all(e.waybill_no == booking.waybill_no for e in events)
    assert [e.time for e in events] == sorted(e.time for e in events)


async def test_failed_delivery_carries_its_reason_and_return(gateway, simulator):
    booking = await gateway.book(shipment("RES-F"))
    await simulator.advance(booking.waybill_no, "returned")
    events = await gateway.track(booking.waybill_no)
    failed = next(e for e in events if e.status is Status.DELIVERY_FAILED)
    assert failed.raw_code == "705" and failed.reason
    assert events[-1].status is Status.RETURNED


async def test_soap_allocates_valid_numbers_and_books_with_one(simulator, make_gateway):
    gateway = make_gateway("ems_soap", simulator.base)
    numbers = await gateway.allocate_numbers(100)
    assert len(set(numbers)) == 100 and all(is_valid_waybill_no(n) for n in numbers)

    booking = await gateway.book(shipment("RES-G", waybill_no=numbers[5]))
    assert booking.waybill_no == numbers[5]
    with pytest.raises(CarrierRejected):
        await gateway.book(shipment("RES-H", waybill_no=numbers[5]))  # already used


async def test_soap_number_exhaustion_is_e029(start_simulator, make_gateway):
    simulator = await start_simulator(number_capacity=10)
    gateway = make_gateway("ems_soap", simulator.base)
    await gateway.allocate_numbers(8)
    with pytest.raises(CarrierRejected) as caught:
        await gateway.allocate_numbers(3)
    assert caught.value.code == "E029"


async def test_soap_reports_print_data(simulator, make_gateway):
    gateway = make_gateway("ems_soap", simulator.base)
    booking = await gateway.book(shipment("RES-I"))
    await gateway.report_print_data(shipment("RES-I", waybill_no=booking.waybill_no))
    status, parcel = await simulator.control("GET", f"/parcels/{booking.waybill_no}")
    assert status == 200 and parcel["printed"] is True


async def test_rest_quotes_postage_in_fen(simulator, make_gateway):
    quote = await make_gateway("ems_open", simulator.base).quote(shipment(weight_g=1200))
    assert (quote.total_fen, quote.standard_fen) == (1200, 1500)


@pytest.mark.parametrize(
    ("kind", "operation"),
    [("ems_open", "allocate_numbers"), ("ems_open", "report_print_data"), ("ems_soap", "quote")],
)
async def test_operations_a_protocol_lacks_are_not_supported(kind, operation, simulator, make_gateway):
    gateway = make_gateway(kind, simulator.base)
    argument = 1 if operation == "allocate_numbers" else shipment()
    with pytest.raises(NotSupported):
        await getattr(gateway, operation)(argument)


async def test_reachability(start_simulator, make_gateway, kind):
    simulator = await start_simulator(unreachable_counties=["永新县"])
    gateway = make_gateway(kind, simulator.base)
    address = shipment().receiver_address
    assert await gateway.check_reachable(address) is True
    assert await gateway.check_reachable(replace(address, detail="不可达村1号")) is False
    assert await gateway.check_reachable(replace(address, county="永新县")) is False


@pytest.mark.parametrize("wrong", [{"sign_key": "d3Jvbmcta2V5LTE2Ynl0ZQ=="}, {"sender_no": "9999"}])
async def test_bad_credentials_are_auth_errors(kind, wrong, simulator, make_gateway):
    gateway = make_gateway(kind, simulator.base, **wrong)
    with pytest.raises(CarrierAuthError):
        await gateway.book(shipment())
    assert await simulator.orders() == []


async def test_unreachable_address_is_rejected_with_the_carriers_reason(gateway, simulator):
    unreachable = replace(shipment().receiver_address, detail="不可达村1号")
    with pytest.raises(CarrierRejected) as caught:
        await gateway.book(shipment(receiver_address=unreachable))
    assert caught.value.code == "E101" and "投递范围" in str(caught.value)
    assert await simulator.orders() == []


async def test_bad_phone_is_rejected(gateway):
    with pytest.raises(CarrierRejected) as caught:
        await gateway.book(shipment(receiver=replace(shipment().receiver, phone="12345")))
    assert caught.value.code == "E102"


async def test_timeout_is_outcome_unknown_within_the_adapter_timeout(gateway, simulator):
    await simulator.fault("create_order", "timeout")
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown):
        await gateway.book(shipment("RES-T"))
    assert time.monotonic() - started < ADAPTER_TIMEOUT_S + 0.5
    assert await gateway.find_booking("RES-T") is None  # "timeout" commits nothing


@pytest.mark.parametrize("mode", ["http_500", "busy", "malformed"])
async def test_failed_answers_are_carrier_unavailable(gateway, simulator, mode):
    await simulator.fault("create_order", mode)
    with pytest.raises(CarrierUnavailable) as caught:
        await gateway.book(shipment("RES-U"))
    assert not isinstance(caught.value, OutcomeUnknown)
    if mode == "busy":
        assert caught.value.retry_after == 1
    assert (await gateway.book(shipment("RES-U"))).order_no == "RES-U"  # the fault was used up


async def test_commit_then_timeout_is_found_by_lookup_and_never_booked_twice(gateway, simulator):
    await simulator.fault("*", "commit_then_timeout")
    with pytest.raises(OutcomeUnknown):
        await gateway.book(shipment("RES-V"))

    found = await gateway.find_booking("RES-V")
    assert found is not None and found.order_no == "RES-V"
    assert await gateway.book(shipment("RES-V")) == found
    assert len(await simulator.orders()) == 1


async def test_faults_queue_in_order_and_count_down(gateway, simulator):
    await simulator.fault("trace", "http_500", 2)
    await simulator.fault("trace", "busy", 1)
    booking = await gateway.book(shipment("RES-W"))
    for _ in range(3):
        with pytest.raises(CarrierUnavailable):
            await gateway.track(booking.waybill_no)
    assert await gateway.track(booking.waybill_no) == []


async def test_rate_limit_is_unavailable_with_retry_after(start_simulator, make_gateway, kind):
    simulator = await start_simulator(rate_limit_per_s=2)
    gateway = make_gateway(kind, simulator.base)
    results = await asyncio.gather(
        *(gateway.find_booking(f"RES-{i}") for i in range(6)), return_exceptions=True
    )
    throttled = [r for r in results if isinstance(r, CarrierUnavailable)]
    assert throttled and all(r.retry_after and r.retry_after >= 1 for r in throttled)
    assert not any(isinstance(r, OutcomeUnknown) for r in throttled)


async def test_a_dead_carrier_is_unavailable_not_unknown(make_gateway, kind):
    gateway = make_gateway(kind, "http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(CarrierUnavailable) as caught:
        await gateway.book(shipment())
    assert not isinstance(caught.value, OutcomeUnknown)


async def test_delete_faults_clears_the_pending_ones_and_the_next_call_succeeds(gateway, simulator):
    await simulator.fault("create_order", "http_500", count=5)
    await simulator.fault("*", "busy", count=5)
    assert await simulator.control("DELETE", "/faults") == (200, {"cleared": 2})
    booking = await gateway.book(shipment("RES-CLEARED"))
    assert [o["waybill_no"] for o in await simulator.orders()] == [booking.waybill_no]
    assert await simulator.control("DELETE", "/faults") == (200, {"cleared": 0})
