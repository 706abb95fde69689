"""Staff cancel and correct dispatches (`service.dispatches`, `booking.handle_cancel`), on the fake
unit of work: before booking a cancel is ours alone; after booking the carrier is asked first (a job);
the recipient's details change only while nothing was booked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from logistics.domain.errors import Conflict
from logistics.domain.model import Address, Party
from logistics.ports import CarrierRejected
from logistics.service import booking, dispatches
from logistics.service.job_contract import CANCEL, PICKUP_CODE
from tests.fakes import fake_world
from tests.fixtures.dispatches import NOW

from .kit import WAYBILL, S, given, job, pending_jobs, poll_state, stored, trail

STAFF = "staff:wang"
NEW_RECIPIENT = Party("李四", "13900001111")
NEW_ADDRESS = Address("江西省", "吉安市", "安福县", "平都镇新街8号", "343200", "平都镇")


@pytest.mark.parametrize("status", [S.RECEIVED, S.BOOKING_FAILED, S.AWAITING_PICKUP])
async def test_before_booking_a_cancel_is_done_here_at_once(status):
    world = fake_world()
    d = await given(world, status)
    cancelled = await dispatches.cancel(world.uow(), d.id, actor=STAFF, now=NOW)
    assert cancelled.status is S.CANCELLED
    assert (await stored(world, d.id)).status is S.CANCELLED
    assert await trail(world, d.id) == [(status, S.CANCELLED, "cancelled by staff")]
    assert await pending_jobs(world, CANCEL) == [] and world.carrier.cancels == []


async def test_after_booking_a_cancel_asks_the_carrier_once_then_cancels():
    world = fake_world()
    d = await given(world, S.BOOKED)
    for _ in range(2):  # a second click queues nothing more
        assert (await dispatches.cancel(world.uow(), d.id, actor=STAFF, now=NOW)).status is S.BOOKED
    [queued] = await pending_jobs(world, CANCEL)
    assert queued["payload"] == {"dispatch_id": d.id, "actor": STAFF}
    assert (await stored(world, d.id)).status is S.BOOKED
    await booking.handle_cancel(job(CANCEL, queued["payload"]), world.deps)
    assert world.carrier.cancels == [(d.order_no, WAYBILL, "28")]
    assert (await stored(world, d.id)).status is S.CANCELLED
    assert await trail(world, d.id) == [
        (S.BOOKED, S.BOOKED, "cancel requested"),
        (S.BOOKED, S.BOOKED, "cancel requested"),
        (S.BOOKED, S.CANCELLED, "cancelled at the carrier"),
    ]
    assert not (await poll_state(world)).active  # no longer followed


async def test_when_the_carrier_refuses_the_cancel_the_dispatch_stays_booked():
    world = fake_world()
    d = await given(world, S.BOOKED)
    world.carrier.fail("cancel", CarrierRejected("已揽收", code="C09"))
    await booking.handle_cancel(job(CANCEL, {"dispatch_id": d.id, "actor": STAFF}), world.deps)
    assert (await stored(world, d.id)).status is S.BOOKED
    assert await trail(world, d.id) == [(S.BOOKED, S.BOOKED, "carrier refused to cancel")]


async def test_a_parcel_on_its_way_cannot_be_cancelled():
    world = fake_world()
    d = await given(world, S.IN_TRANSIT)
    with pytest.raises(Conflict):
        await dispatches.cancel(world.uow(), d.id, actor=STAFF, now=NOW)
    assert (await stored(world, d.id)).status is S.IN_TRANSIT
    assert await trail(world, d.id) == [] and await pending_jobs(world, CANCEL) == []
    assert world.store.rollbacks == 1


@pytest.mark.parametrize("status", [S.RECEIVED, S.BOOKING_FAILED])
async def test_the_address_is_corrected_before_booking(status):
    world = fake_world()
    d = await given(world, status)
    changed = await dispatches.correct(world.uow(), d.id, actor=STAFF, now=NOW, address=NEW_ADDRESS)
    now = await stored(world, d.id)
    assert changed == now
    assert (now.address, now.recipient, now.status, now.updated_at) == (NEW_ADDRESS, d.recipient, status, NOW)
    async with world.uow(read_only=True) as uow:
        [event] = [e for e in await uow.dispatches.events(d.id) if e.cause != "setup"]
    assert (event.cause, event.actor) == ("recipient details corrected", STAFF)
    assert event.detail == {"fields": ["address"]}


@pytest.mark.parametrize("status", [S.BOOKING, S.BOOKED, S.IN_TRANSIT])
async def test_once_booking_started_the_address_stays_as_it_is(status):
    world = fake_world()
    d = await given(world, status)
    with pytest.raises(Conflict):
        await dispatches.correct(world.uow(), d.id, actor=STAFF, now=NOW, recipient=NEW_RECIPIENT)
    now = await stored(world, d.id)
    assert (now.address, now.recipient) == (d.address, d.recipient)
    assert await trail(world, d.id) == []


async def _code_state(world, dispatch_id):
    async with world.uow(read_only=True) as uow:
        return await uow.console.pickup_code(dispatch_id)


@pytest.mark.parametrize("phone_changes", [True, False])
async def test_a_corrected_phone_voids_the_waiting_code_and_sends_a_new_one(phone_changes):
    world = fake_world()
    d = await given(world, S.AWAITING_PICKUP)
    earlier = NOW - timedelta(hours=1)
    async with world.uow() as uow:  # the code sent an hour ago, to the number on the dispatch
        await uow.console.put_pickup_code(
            d.id, code_hash="h", now=earlier, expires_at=NOW + timedelta(days=1), by="system"
        )
    fixed = Party(d.recipient.name, "13900001111" if phone_changes else d.recipient.phone)
    await dispatches.correct(world.uow(), d.id, actor=STAFF, now=NOW, recipient=fixed)
    code = await _code_state(world, d.id)
    queued = await pending_jobs(world, PICKUP_CODE)
    if phone_changes:  # the wrong number's code stops working now; a new one goes to the right number
        assert code.expires_at == NOW
        assert [j["payload"] for j in queued] == [{"dispatch_id": d.id, "at": NOW.isoformat()}]
    else:
        assert code.expires_at == NOW + timedelta(days=1) and queued == []
