"""Halls on the fake unit of work: use cases given deps scoped to one hall cannot reach another hall's
dispatches (its ids are as unknown as ids that never existed), manifests are one hall's with the hall in
their number, booking sends the dispatch's own hall, the province view compares halls."""

from __future__ import annotations

from dataclasses import replace

import pytest

from logistics.config import Settings
from logistics.domain.errors import InvalidInput, NotFound
from logistics.domain.hall import DEFAULT_HALL, Hall
from logistics.service import booking, exceptions_queue, halls, printing, province
from logistics.service import dispatches as dispatch_service
from logistics.service.job_contract import BOOK
from tests.fakes import fake_world
from tests.fixtures.dispatches import NOW

from .kit import S, given, job, stored

YX = Hall(
    name="永新县政务服务中心", phone="07967712345", province="江西省", city="吉安市", county="永新县",
    address="禾川镇胜利路88号", postcode="343400", code="YX",
)  # fmt: skip
UNKNOWN = "00000000-0000-0000-0000-000000000000"


async def two_halls(world, status=S.RECEIVED):
    """A dispatch of the default hall and one of YX, received or booked (each its own waybill)."""
    async with world.uow() as uow:
        await uow.halls.add(YX, now=NOW)
    mine = await given(world, status, "AF-1")
    theirs = await given(world, S.RECEIVED, "YX-1", hall="YX", client_id="c-yx")
    if status is S.BOOKED:
        async with world.uow() as uow:
            for to, changes in ((S.BOOKING, {}), (S.BOOKED, {"waybill_no": "1100000000027"})):
                after, event = theirs.moved(to, at=NOW, actor="test", cause="setup", **changes)
                assert await uow.dispatches.save_move(theirs, after, event)
                theirs = after
    return mine, theirs


async def test_another_halls_dispatch_is_not_found_by_a_scoped_use_case():
    world = fake_world()
    mine, theirs = await two_halls(world)
    scoped = world.deps.for_hall(DEFAULT_HALL)
    assert scoped.hall == DEFAULT_HALL and world.deps.hall is None
    for action in (dispatch_service.cancel, dispatch_service.request_booking):
        with pytest.raises(NotFound):
            await action(scoped.uow(), theirs.id, actor="staff:af", now=NOW)
    assert (await stored(world, theirs.id)).status is S.RECEIVED
    assert (
        await dispatch_service.cancel(scoped.uow(), mine.id, actor="staff:af", now=NOW)
    ).status is S.CANCELLED
    # unscoped (an admin over every hall): both are found
    assert (
        await dispatch_service.cancel(world.uow(), theirs.id, actor="admin", now=NOW)
    ).status is S.CANCELLED


async def test_a_batch_naming_another_halls_id_is_refused_as_an_unknown_id_is():
    world = fake_world()
    mine, theirs = await two_halls(world, S.BOOKED)
    scoped = world.deps.for_hall(DEFAULT_HALL).uow
    errors = {}
    for name, other in (("theirs", theirs.id), ("unknown", UNKNOWN)):
        with pytest.raises(InvalidInput) as refused:
            await printing.load_ordered(scoped(read_only=True), [mine.id, other])
        errors[name] = refused.value.errors
    assert errors["theirs"] == errors["unknown"] == [("ids.1", "没有这个寄递单 (no such dispatch)")]


async def test_a_manifest_is_one_halls_and_its_number_names_the_hall():
    world = fake_world()
    mine, theirs = await two_halls(world, S.BOOKED)
    with pytest.raises(InvalidInput, match="一个大厅"):  # an admin's batch over two halls
        printing.one_hall([mine, theirs])
    printed = await printing.print_manifest(
        world.deps.for_hall("YX").uow, [theirs.id], lambda found: b"%PDF", courier="c", actor="a", now=NOW
    )
    assert printed.manifest_id.startswith("MF20261105-YX-")
    assert printing.new_manifest_id(NOW).count("-") == 1  # the default hall's as before halls


async def test_booking_sends_the_dispatchs_own_hall_as_sender():
    world = fake_world()
    mine, theirs = await two_halls(world)
    for d in (mine, theirs):
        await booking.handle_book(job(BOOK, {"dispatch_id": d.id}), world.deps)
    sent = {d.hall: world.carrier.shipments[d.order_no] for d in (mine, theirs)}
    assert (sent["YX"].sender.name, sent["YX"].sender_address.county) == (YX.name, "永新县")
    assert sent[DEFAULT_HALL].sender.name == world.deps.settings.origin.name


async def test_a_dispatch_of_a_hall_never_added_fails_booking_saying_so():
    world = fake_world()
    d = await given(world, S.RECEIVED, "ZZ-1", hall="ZZ")
    await booking.handle_book(job(BOOK, {"dispatch_id": d.id}), world.deps)
    failed = await stored(world, d.id)
    assert failed.status is S.BOOKING_FAILED and "ZZ" in failed.reason
    assert world.carrier.bookings == []


async def test_halls_are_added_once_with_their_code_checked():
    world = fake_world()
    await halls.add(world.uow(), YX, now=NOW)
    with pytest.raises(Exception, match="已存在"):
        await halls.add(world.uow(), replace(YX, name="重复"), now=NOW)
    assert [h.code for h in await halls.listed(world.uow(read_only=True))] == [DEFAULT_HALL, "YX"]


async def test_the_province_view_compares_halls_and_a_hall_sees_its_own_row():
    world = fake_world()
    await two_halls(world, S.BOOKED)
    await given(world, S.BOOKING_FAILED, "YX-2", hall="YX", client_id="c-yx")
    rows = await province.compare(world.uow(read_only=True), now=NOW, ontime_days=3)
    by_code = {r.hall.code: r for r in rows}
    assert (by_code["YX"].total, by_code["YX"].exceptions, by_code["YX"].booked_month) == (2, 1, 1)
    assert (by_code[DEFAULT_HALL].total, by_code[DEFAULT_HALL].exceptions) == (1, 0)
    own = await province.compare(world.deps.for_hall("YX").uow(read_only=True), now=NOW, ontime_days=3)
    assert [r.hall.code for r in own] == ["YX"]


async def test_the_exceptions_list_of_a_hall_holds_only_its_own():
    world = fake_world()
    await given(world, S.BOOKING_FAILED, "AF-9")
    await given(world, S.BOOKING_FAILED, "YX-9", hall="YX", client_id="c-yx")
    items = await exceptions_queue.list_exceptions(
        world.deps.for_hall("YX").uow(read_only=True), now=NOW, stuck_days=3
    )
    assert [i["case_no"] for i in items] == ["YX-9"]


def test_clients_may_be_bound_to_a_hall(monkeypatch):
    monkeypatch.setenv("CERTPOST_CLIENTS", '{"plain": "s1", "bound": {"secret": "s2", "hall": "YX"}}')
    s = Settings()
    assert s.clients == {"plain": "s1", "bound": "s2"}
    assert (s.client_hall("plain"), s.client_hall("bound")) == (DEFAULT_HALL, "YX")
    monkeypatch.setenv("CERTPOST_CLIENTS", '{"bad": {"secret": "s", "hall": "not a code"}}')
    with pytest.raises(ValueError, match=r"clients\.bad\.hall"):
        Settings()
