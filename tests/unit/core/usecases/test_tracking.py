"""Carrier scans applied to dispatches (`tracking.record`), on the fake unit of work: forward only,
and a delivery announced to the applicant (SMS) and the approval system (callback) exactly once."""

from __future__ import annotations

import pytest

from logistics.ports import SmsUnavailable
from logistics.service import notifications, tracking
from logistics.service.job_contract import CALLBACK, SMS, RetryLater
from tests.fakes import fake_world
from tests.fixtures.dispatches import NOW

from .kit import S, given, job, notices, pending_jobs, poll_state, scan, stored, trail


async def record(world, *scans, source="push"):
    return await tracking.record(world.uow(), list(scans), now=NOW, source=source)


async def test_a_scan_moves_the_parcel_forward():
    world = fake_world()
    d = await given(world, S.BOOKED)
    in_transit = scan(S.IN_TRANSIT, 1, "305")
    result = await record(world, in_transit)
    assert (result.new, result.applied, result.moves) == (1, 1, 1)
    assert (await stored(world, d.id)).status is S.IN_TRANSIT
    async with world.uow(read_only=True) as uow:
        [event] = [e for e in await uow.dispatches.events(d.id) if e.cause != "setup"]
    assert (event.from_status, event.to_status, event.actor) == (S.BOOKED, S.IN_TRANSIT, "carrier:305")
    assert (await poll_state(world)).applied_at == in_transit.time


async def test_a_late_or_backward_scan_is_kept_but_never_moves_the_parcel_back():
    world = fake_world()
    d = await given(world, S.BOOKED)
    await record(world, scan(S.OUT_FOR_DELIVERY, 10, "702"))
    result = await record(world, scan(S.IN_TRANSIT, 5, "305"), scan(S.IN_TRANSIT, 20, "306"))
    assert (result.new, result.moves) == (2, 0)
    assert (await stored(world, d.id)).status is S.OUT_FOR_DELIVERY
    async with world.uow(read_only=True) as uow:
        assert len(await uow.tracking.events_for(d.waybill_no)) == 3  # all on record


async def test_a_scan_older_than_the_last_applied_one_does_not_move_the_parcel_even_where_it_could():
    world = fake_world()
    d = await given(world, S.BOOKED)
    await record(world, scan(S.DELIVERY_FAILED, 10, "705", reason="无人签收"))
    await record(world, scan(S.OUT_FOR_DELIVERY, 5, "702"))  # delivery_failed -> out_for_delivery is allowed
    assert (await stored(world, d.id)).status is S.DELIVERY_FAILED
    await record(world, scan(S.OUT_FOR_DELIVERY, 15, "702"))  # a newer one does move it
    assert (await stored(world, d.id)).status is S.OUT_FOR_DELIVERY


async def test_scans_of_one_push_are_applied_in_time_order():
    world = fake_world()
    d = await given(world, S.BOOKED)
    await record(world, scan(S.OUT_FOR_DELIVERY, 30, "702"), scan(S.IN_TRANSIT, 10, "305"))
    assert (await stored(world, d.id)).status is S.OUT_FOR_DELIVERY
    assert [to for _, to, _ in await trail(world, d.id)] == [S.IN_TRANSIT, S.OUT_FOR_DELIVERY]


async def test_delivered_is_announced_by_sms_and_callback_once():
    world = fake_world()
    d = await given(world, S.BOOKED)
    delivered = scan(S.DELIVERED, 60, "704")
    await record(world, delivered)
    again = await record(world, delivered, source="poll")  # the same scan polled later
    await record(world, scan(S.DELIVERED, 61, "704"))  # and a second delivered scan
    assert (again.new, again.duplicates) == (0, 1)
    assert (await stored(world, d.id)).status is S.DELIVERED
    [sms] = await notices(world, SMS)
    [callback] = await notices(world, CALLBACK)
    assert (sms.kind, sms.dispatch_id, sms.event_time) == ("delivered", d.id, delivered.time)
    assert (callback.kind, callback.dispatch_id, callback.sent_at) == ("delivered", d.id, None)
    assert not (await poll_state(world)).active  # the end: no more polls
    async with world.uow(read_only=True) as uow:
        counters = await uow.tracking.read_counters()
    assert (counters["tracking.events_new"], counters["tracking.events_duplicate"]) == (2, 1)


async def test_a_scan_for_a_number_that_is_not_ours_yet_waits_on_record():
    world = fake_world()
    result = await record(world, scan(S.IN_TRANSIT, 1, "305", waybill_no="1100000000999"))
    assert (result.new, result.applied) == (1, 0)
    async with world.uow(read_only=True) as uow:
        assert list(await uow.tracking.pending_events_many(["1100000000999"])) == ["1100000000999"]


class NoKeyProvider:
    """A provider that takes every message it is given (no deduplication by our key); the first answer
    is lost after the message went out."""

    def __init__(self):
        self.sent, self.lose_next_answer = [], True

    async def send(self, phone, template, params, *, key):
        self.sent.append(key)
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise SmsUnavailable("no answer", code="timeout")

    async def was_sent(self, phone, key, at):
        return key in self.sent


async def test_a_status_sms_whose_answer_was_lost_is_not_sent_twice():
    world = fake_world()
    world.deps.notifier = provider = NoKeyProvider()
    await given(world, S.BOOKED)
    await record(world, scan(S.DELIVERED, 60, "704"))
    [row] = await pending_jobs(world, SMS)
    with pytest.raises(RetryLater):
        await notifications.handle_sms(job(SMS, row["payload"], attempts=1), world.deps)
    await notifications.handle_sms(job(SMS, row["payload"], attempts=2), world.deps)
    assert len(provider.sent) == 1  # the retry asked the provider instead of sending again
    async with world.uow(read_only=True) as uow:
        notice = await uow.tracking.get_notice(row["payload"]["notice_id"])
    assert notice.sent_at is not None and notice.outcome == "sent: confirmed by provider"
