"""Booking a dispatch at the carrier (`booking.handle_book`), on the fake unit of work: booked with the
carrier's waybill, rejected with its reason, transient failures retried, and never booked twice when
an answer was lost."""

from __future__ import annotations

import pytest

from logistics.ports import CarrierRejected, CarrierUnavailable, CarrierUnreachable, OutcomeUnknown
from logistics.service import booking
from logistics.service.job_contract import BOOK, COMPLETED, SMS, SYNC_OFFLINE, GiveUp, RetryLater
from tests.fakes import fake_world
from tests.fixtures.dispatches import NOW

from .kit import S, claimed, given, job, job_states, notices, pending_jobs, poll_state, stored, trail

LONG_WAIT = 60  # a Retry-After longer than the in-process wait: the job comes back later
SHORT_WAIT = 0.001  # retried in-process at once


def book_job(d, attempts=1, max_attempts=8):
    return job(BOOK, {"dispatch_id": d.id}, attempts=attempts, max_attempts=max_attempts)


async def test_a_booked_dispatch_holds_the_carriers_waybill_and_is_followed():
    world = fake_world()
    d = await given(world)
    await booking.handle_book(book_job(d), world.deps)
    booked = await stored(world, d.id)
    assert world.carrier.bookings == [d.order_no]
    assert (booked.status, booked.waybill_no) == (S.BOOKED, world.carrier.waybills[d.order_no])
    assert await trail(world, d.id) == [
        (S.RECEIVED, S.BOOKING, "booking with the carrier"),
        (S.BOOKING, S.BOOKED, "booked with the carrier"),
    ]
    assert (await poll_state(world, booked.waybill_no)).active
    assert [n.kind for n in await notices(world, SMS)] == ["booked"]  # the applicant hears of it
    assert world.carrier.lookups == []  # a first attempt has nothing to look up


async def test_a_rejected_dispatch_fails_with_the_carriers_reason_and_no_booking():
    world = fake_world()
    d = await given(world)
    world.carrier.fail("book", CarrierRejected("收件地址不可达", code="B01"))
    await booking.handle_book(book_job(d), world.deps)
    failed = await stored(world, d.id)
    assert (failed.status, failed.reason, failed.waybill_no) == (S.BOOKING_FAILED, "B01 收件地址不可达", None)
    assert world.carrier.bookings == []
    assert await notices(world, SMS) == []


async def test_a_transient_failure_is_retried_in_process_after_a_look_up():
    world = fake_world()
    d = await given(world)
    world.carrier.fail("book", CarrierUnavailable("busy", retry_after=SHORT_WAIT))
    await booking.handle_book(book_job(d), world.deps)
    assert (await stored(world, d.id)).status is S.BOOKED
    assert world.carrier.lookups == [d.order_no]  # the failed request may have arrived
    assert world.carrier.bookings == [d.order_no]


async def test_a_lasting_failure_leaves_the_dispatch_booking_for_the_jobs_next_attempt():
    world = fake_world()
    d = await given(world)
    world.carrier.fail("book", CarrierUnavailable("busy", retry_after=LONG_WAIT))
    with pytest.raises(RetryLater) as retry:
        await booking.handle_book(book_job(d), world.deps)
    assert retry.value.retry_after_s == LONG_WAIT
    assert (await stored(world, d.id)).status is S.BOOKING
    await booking.handle_book(book_job(d, attempts=2), world.deps)
    assert (await stored(world, d.id)).status is S.BOOKED
    assert world.carrier.lookups == [d.order_no] and world.carrier.bookings == [d.order_no]


async def test_when_the_answer_was_lost_the_next_attempt_finds_the_booking_instead_of_booking_again():
    world = fake_world()
    d = await given(world)
    world.carrier.lose_answer(OutcomeUnknown("timed out after sending", retry_after=LONG_WAIT))
    with pytest.raises(RetryLater):
        await booking.handle_book(book_job(d), world.deps)
    assert world.carrier.bookings == [d.order_no]  # it did arrive
    assert (await stored(world, d.id)).status is S.BOOKING
    await booking.handle_book(book_job(d, attempts=2), world.deps)
    booked = await stored(world, d.id)
    assert world.carrier.bookings == [d.order_no]  # never twice
    assert (booked.status, booked.waybill_no) == (S.BOOKED, world.carrier.waybills[d.order_no])


async def test_a_lost_answer_retried_in_process_is_looked_up_too():
    world = fake_world()
    d = await given(world)
    world.carrier.lose_answer(OutcomeUnknown("timed out after sending", retry_after=SHORT_WAIT))
    await booking.handle_book(book_job(d), world.deps)
    assert world.carrier.bookings == [d.order_no]
    assert (await stored(world, d.id)).waybill_no == world.carrier.waybills[d.order_no]


async def test_a_dispatch_left_in_booking_by_a_crash_is_looked_up_first():
    world = fake_world()
    d = await given(world, S.BOOKING)
    world.carrier.waybills[d.order_no] = "1100000000999"  # booked before the crash, never recorded
    await booking.handle_book(book_job(d), world.deps)
    booked = await stored(world, d.id)
    assert (booked.status, booked.waybill_no) == (S.BOOKED, "1100000000999")
    assert world.carrier.bookings == []


async def test_the_last_attempt_gives_up_and_says_why():
    world = fake_world()
    d = await given(world)
    world.carrier.fail("book", CarrierUnreachable("refused", code="ECONNREFUSED", retry_after=LONG_WAIT))
    with pytest.raises(GiveUp):
        await booking.handle_book(book_job(d, attempts=3, max_attempts=3), world.deps)
    failed = await stored(world, d.id)
    assert (failed.status, failed.reason) == (S.BOOKING_FAILED, "承运商暂不可用: ECONNREFUSED")


async def test_a_settled_dispatch_is_not_booked_again():
    world = fake_world()
    d = await given(world, S.BOOKED)
    await booking.handle_book(book_job(d, attempts=2), world.deps)
    assert world.carrier.bookings == [] and world.carrier.lookups == []
    assert (await stored(world, d.id)).status is S.BOOKED
    assert world.store.commits == 2  # the setup's, and the look at the dispatch


async def test_while_the_carrier_is_unreachable_a_pool_number_books_the_dispatch_offline():
    world = fake_world(pool_offline=True)
    d = await given(world)
    async with world.uow() as uow:
        await uow.pool.add(["1100000000500"], now=NOW)
    world.carrier.fail("book", CarrierUnreachable("refused", retry_after=LONG_WAIT))
    await booking.handle_book(book_job(d), world.deps)
    booked = await stored(world, d.id)
    assert (booked.status, booked.waybill_no) == (S.BOOKED, "1100000000500")
    assert world.carrier.bookings == []
    assert [j["payload"] for j in await pending_jobs(world, SYNC_OFFLINE)] == [{"dispatch_id": d.id}]
    other = await given(world, case_no="AF-2")  # the pool is empty now: the job waits for the carrier
    world.carrier.fail("book", CarrierUnreachable("refused", retry_after=LONG_WAIT))
    with pytest.raises(RetryLater):
        await booking.handle_book(book_job(other), world.deps)
    assert (await stored(world, other.id)).status is S.BOOKING


async def test_a_batch_settles_each_job_as_booking_one_by_one_would():
    world = fake_world()
    ok, rejected = await given(world, case_no="B1"), await given(world, case_no="B2")
    settled = await given(world, S.BOOKED, case_no="B3")
    world.carrier.refuse(rejected.order_no, CarrierRejected("地址不详", code="B01"))
    jobs = [await claimed(world, BOOK, {"dispatch_id": d.id}, worker="w1") for d in (ok, rejected, settled)]
    twin = await claimed(world, BOOK, {"dispatch_id": ok.id}, worker="w1")  # a second job for one dispatch
    outcomes = {}

    async def settle(job, outcome):
        outcomes[job.id] = outcome

    await booking.batch_handlers(world.deps)[BOOK]([*jobs, twin], "w1", settle)
    assert world.carrier.bookings == [ok.order_no]
    assert [(await stored(world, d.id)).status for d in (ok, rejected, settled)] == [
        S.BOOKED, S.BOOKING_FAILED, S.BOOKED,
    ]  # fmt: skip
    assert (outcomes[jobs[0].id], outcomes[jobs[1].id], outcomes[jobs[2].id]) == (COMPLETED, None, COMPLETED)
    assert isinstance(outcomes[twin.id], RetryLater)
    states = await job_states(world)
    assert (states[jobs[0].id], states[jobs[2].id]) == ("done", "done")  # completed with their results
    assert (states[jobs[1].id], states[twin.id]) == ("running", "running")  # the worker settles these
