"""Village proxy points on the fake unit of work: intake refuses a point the hall lacks, booking sends the
parcel to the point (the citizen masked beside the point's name), the carrier's "delivered" is the point
receiving it (awaiting_pickup, no callback to the approval system until the citizen picks it up), and
the point's details are checked field by field."""

from __future__ import annotations

import pytest

from logistics.domain.errors import InvalidInput
from logistics.domain.model import Address, DeliveryMethod, Direction
from logistics.domain.village import arrival_status, citizen_side, point_from, point_problems, receiver_name
from logistics.service import booking, tracking, village_points
from logistics.service.job_contract import BOOK, CALLBACK
from tests.fakes import fake_world
from tests.fixtures.dispatches import NOW, make_dispatch

from .kit import S, given, job, notices, scan, stored

POINT = {
    "code": "VP-YT01", "name": "严田村代办点", "town": "严田镇", "clerk_name": "李桂英",
    "clerk_phone": "13907960001",
    "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "严田镇",
                "detail": "严田村村委会", "postcode": "343200"},
}  # fmt: skip
VILLAGE = {"delivery_method": DeliveryMethod.VILLAGE_POINT, "village_point_code": "VP-YT01"}


async def registered(world, hall="default", **over):
    return await village_points.register(world.uow(), {**POINT, **over}, hall=hall, actor="staff:li", now=NOW)


def test_a_points_details_are_checked_field_by_field():
    assert point_problems(POINT) == []
    bad = {**POINT, "code": "", "name": "a\x00b", "clerk_phone": "12", "address": {"province": "江西省"}}
    fields = {f for f, _ in point_problems(bad)}
    assert fields == {"code", "name", "clerk_phone", "address.city", "address.county", "address.detail",
                      "address.postcode"}  # fmt: skip
    assert {f for f, _ in point_problems({**POINT, "address": "村委会"})} == {"address"}
    assert point_problems({"name": "新名"}, partial=True) == []
    assert {f for f, _ in point_problems({"town": 3}, partial=True)} == {"town"}


def test_a_parcel_for_a_point_is_addressed_to_the_point_with_the_citizen_masked():
    point = point_from(POINT, hall="default", now=NOW)
    d = make_dispatch(
        "V1", recipient=make_dispatch().recipient.__class__("欧阳小明", "13807961234"), **VILLAGE
    )
    party, address = citizen_side(d, point)
    assert party.name == receiver_name("欧阳小明", point) == "欧**明（严田村代办点）"
    assert party.phone == "13907960001" and address.town == "严田镇" and address.detail == "严田村村委会"
    mailed = make_dispatch("M1")
    assert citizen_side(mailed, point) == (mailed.recipient, mailed.address)
    unaddressed = point_from(
        {**POINT, "address": {**POINT["address"], "detail": ""}}, hall="default", now=NOW
    )
    assert citizen_side(d, unaddressed) == (d.recipient, d.address)  # never booked to nowhere


def test_delivered_to_a_point_means_awaiting_pickup_there_but_only_outbound():
    d = make_dispatch("V1", **VILLAGE)
    assert arrival_status(d, S.DELIVERED) is S.AWAITING_PICKUP
    assert arrival_status(d, S.IN_TRANSIT) is S.IN_TRANSIT
    assert arrival_status(make_dispatch("M1"), S.DELIVERED) is S.DELIVERED
    inbound = make_dispatch("I1", direction=Direction.INBOUND, **VILLAGE)
    assert arrival_status(inbound, S.DELIVERED) is S.DELIVERED


async def test_intake_refuses_a_point_the_hall_lacks_or_deactivated_naming_the_field():
    world = fake_world()
    d = make_dispatch("V1", **VILLAGE)
    with pytest.raises(InvalidInput) as refused:
        await village_points.check_intake(world.uow(read_only=True), d)
    assert [f for f, _ in refused.value.errors] == ["village_point_code"]
    await registered(world, hall="YX")  # another hall's point of that code does not count
    with pytest.raises(InvalidInput):
        await village_points.check_intake(world.uow(read_only=True), d)
    await registered(world)
    await village_points.check_intake(world.uow(read_only=True), d)
    await village_points.change(world.uow(), "default", "VP-YT01", {"active": False}, actor="s", now=NOW)
    with pytest.raises(InvalidInput, match="停用"):
        await village_points.check_intake(world.uow(read_only=True), d)


async def test_a_stored_case_replays_even_after_its_point_was_deactivated():
    world = fake_world()
    await registered(world)
    d = await given(world, S.RECEIVED, "V1", **VILLAGE)
    await village_points.change(world.uow(), "default", "VP-YT01", {"active": False}, actor="s", now=NOW)
    await village_points.check_intake(world.uow(read_only=True), d)  # no refusal: intake answers the replay


async def test_booking_sends_the_parcel_to_the_points_address():
    world = fake_world()
    await registered(world)
    d = await given(world, S.RECEIVED, "V1", **VILLAGE)
    await booking.handle_book(job(BOOK, {"dispatch_id": d.id}), world.deps)
    shipment = world.carrier.shipments[d.order_no]
    assert shipment.receiver.name == "王*明（严田村代办点）" and shipment.receiver.phone == "13907960001"
    assert shipment.receiver_address == Address(
        "江西省", "吉安市", "安福县", "严田村村委会", "343200", "严田镇"
    )
    assert "王小明" not in repr(shipment) and "13807961234" not in repr(shipment)


async def test_the_point_receiving_it_makes_it_await_pickup_with_no_callback_until_picked_up():
    world = fake_world()
    await registered(world)
    d = await given(world, S.IN_TRANSIT, "V1", **VILLAGE)
    await tracking.record(world.uow(), [scan(S.DELIVERED, 10, "704")], now=NOW, source="push")
    assert (await stored(world, d.id)).status is S.AWAITING_PICKUP
    assert await notices(world, CALLBACK) == []  # "delivered" goes to the approval system at pickup
    await tracking.record(world.uow(), [scan(S.DELIVERED, 20, "704")], now=NOW, source="poll")
    assert (await stored(world, d.id)).status is S.AWAITING_PICKUP  # a repeat changes nothing


async def test_the_figures_count_each_points_parcels_by_status_under_its_name():
    world = fake_world()
    await registered(world)
    await given(world, S.IN_TRANSIT, "V1", **VILLAGE)
    await given(
        world, S.RECEIVED, "V2", village_point_code="OLD-1", delivery_method=DeliveryMethod.VILLAGE_POINT
    )
    found = {f.code: f for f in await village_points.figures(world.uow(read_only=True))}
    assert found["VP-YT01"].name == "严田村代办点" and found["VP-YT01"].count(village_points.TO_POINT) == 1
    assert found["OLD-1"].point is None and found["OLD-1"].name == "OLD-1" and found["OLD-1"].open == 1


async def test_a_parcel_at_a_point_is_collected_there_and_a_counter_parcel_at_the_hall():
    world = fake_world()
    await registered(world)
    async with world.uow(read_only=True) as uow:
        place = await village_points.pickup_place(uow, make_dispatch("V1", **VILLAGE))
        assert (place.name, place.address.detail) == ("严田村代办点", "严田村村委会")
        assert (
            await village_points.pickup_place(uow, make_dispatch("P1", delivery_method=DeliveryMethod.PICKUP))
            is None
        )
