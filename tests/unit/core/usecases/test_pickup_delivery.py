"""The pickup code reaches the citizen by itself (`service.pickup_delivery`), on the fake unit of work:
one job per move to awaiting_pickup, the code sent with no staff action, retried while the SMS provider is
away, and on a slip when there is no SMS or the provider refuses; a slip's code works at the counter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from logistics.domain.errors import Conflict, InvalidInput
from logistics.domain.model import DeliveryMethod
from logistics.ports import SmsMisconfigured, SmsRejected, SmsThrottled, SmsUnavailable
from logistics.service import pickup, pickup_delivery
from logistics.service.dispatches import move, move_many
from logistics.service.job_contract import PICKUP_CODE, GiveUp, RetryLater
from logistics.service.sms_receipts import SmsReceipt, record_receipts
from tests.fakes import fake_world
from tests.fakes.tracking import FakeNotices
from tests.fixtures.dispatches import NOW

from .kit import S, given, job, pending_jobs, stored, trail

CLERK = "staff:li"


class FailingNotifier:
    """Raises the given errors in turn, then records like the simulator."""

    def __init__(self, recorder, *errors):
        self.recorder, self.errors = recorder, list(errors)

    async def send(self, phone, template, params, *, key):
        if self.errors:
            raise self.errors.pop(0)
        await self.recorder.send(phone, template, params, key=key)


async def moved_to_counter(world):
    d = await given(world, S.RECEIVED)
    async with world.uow() as uow:
        return await move(uow, d, S.AWAITING_PICKUP, at=NOW, actor="system", cause="setup")


async def the_job(world, attempts=1):
    [row] = await pending_jobs(world, PICKUP_CODE)
    return job(PICKUP_CODE, row["payload"], attempts=attempts, max_attempts=row["max_attempts"])


async def release(world, d, code):
    return await pickup.release(world.uow, d.id, code, actor=CLERK, now=NOW, max_attempts=3)


async def states(world, d):
    return await pickup.codes_state(world.uow(read_only=True), [d.id], now=NOW)


async def test_a_move_to_awaiting_pickup_queues_one_code_job_and_the_code_goes_out_without_staff():
    world = fake_world()
    d = await moved_to_counter(world)
    [row] = await pending_jobs(world, PICKUP_CODE)
    assert row["payload"] == {"dispatch_id": d.id, "at": NOW.isoformat()}
    await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    [message] = world.notifier.messages
    code = message["params"]["code"]
    assert message["template"] == "pickup_code" and len(code) == 6 and code.isdigit()
    assert message["params"]["place"] == world.deps.settings.origin.name
    assert "取件码" + code in message["text"] and "王" not in message["text"]
    assert "pickup code sent" in [cause for _, _, cause in await trail(world, d.id)]
    assert not any(code in str(e) for e in world.store.tables.dispatch_events)  # never in the audit
    assert (await release(world, d, code)).status is S.PICKED_UP


async def test_batched_moves_queue_one_job_each():
    world = fake_world()
    ds = [await given(world, S.RECEIVED, case_no=f"AF-{i}") for i in range(3)]
    moves = [(d, *d.moved(S.AWAITING_PICKUP, at=NOW, actor="system", cause="setup")) for d in ds]
    async with world.uow() as uow:
        await move_many(uow, moves, at=NOW)
        await move_many(uow, moves, at=NOW)  # the same moves again: compare-and-set, nothing new
    rows = await pending_jobs(world, PICKUP_CODE)
    assert sorted(r["payload"]["dispatch_id"] for r in rows) == sorted(d.id for d in ds)


async def test_without_sms_the_code_waits_for_a_slip_and_the_slip_s_code_releases_the_parcel():
    world = fake_world()
    world.deps.notifier = None
    d = await moved_to_counter(world)
    await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    assert (await states(world, d))[d.id].startswith(pickup.TO_PRINT)
    with pytest.raises(Conflict):
        await pickup_delivery.resend(world.deps, d.id, actor=CLERK)
    slip = await pickup_delivery.print_slip(world.deps, d.id, actor=CLERK)
    assert (
        slip.masked_name != "王小明" and slip.code.isdigit() and slip.expires_at == NOW + timedelta(hours=72)
    )
    assert (await states(world, d))[d.id].startswith("已打印取件通知单")
    causes = [cause for _, _, cause in await trail(world, d.id)]
    assert causes[-2:] == ["pickup code to be printed on a slip", "pickup slip printed"]
    assert (await release(world, d, slip.code)).status is S.PICKED_UP


async def test_a_provider_outage_is_retried_then_the_code_goes_on_a_slip():
    world = fake_world(sms_max_attempts=3, sms_retry_base_s=2)
    world.deps.notifier = FailingNotifier(world.notifier, *[SmsThrottled("busy", code="isv.X")] * 5)
    d = await moved_to_counter(world)
    with pytest.raises(RetryLater) as later:
        await pickup_delivery.handle_pickup_code(await the_job(world, attempts=1), world.deps)
    assert 0 < later.value.retry_after_s <= 3600
    assert not (await states(world, d))[d.id].startswith(pickup.TO_PRINT)
    with pytest.raises(GiveUp):
        await pickup_delivery.handle_pickup_code(await the_job(world, attempts=3), world.deps)
    assert (await states(world, d))[d.id].startswith(pickup.TO_PRINT)


async def test_a_retry_after_an_outage_sends_the_code_once():
    world = fake_world()
    world.deps.notifier = FailingNotifier(
        world.notifier, SmsThrottled("busy", code="isv.BUSINESS_LIMIT_CONTROL")
    )
    d = await moved_to_counter(world)
    with pytest.raises(RetryLater):
        await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    await pickup_delivery.handle_pickup_code(await the_job(world, attempts=2), world.deps)
    [message] = world.notifier.messages
    assert (await release(world, d, message["params"]["code"])).status is S.PICKED_UP


async def test_a_refused_number_goes_to_the_slip_queue_at_once():
    world = fake_world()
    world.deps.notifier = FailingNotifier(
        world.notifier, SmsRejected("bad", code="isv.MOBILE_NUMBER_ILLEGAL")
    )
    d = await moved_to_counter(world)
    await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    state = (await states(world, d))[d.id]
    assert state.startswith(pickup.TO_PRINT) and "isv.MOBILE_NUMBER_ILLEGAL" in state


async def test_a_configuration_error_is_dead_lettered_and_the_code_goes_on_a_slip():
    world = fake_world()
    world.deps.notifier = FailingNotifier(
        world.notifier, SmsMisconfigured("sig", code="SignatureDoesNotMatch")
    )
    d = await moved_to_counter(world)
    with pytest.raises(GiveUp):
        await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    assert (await states(world, d))[d.id].startswith(pickup.TO_PRINT)


async def test_a_code_staff_sent_meanwhile_is_not_replaced_by_the_job():
    world = fake_world()
    d = await moved_to_counter(world)
    await pickup_delivery.resend(world.deps, d.id, actor=CLERK)
    await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    assert len(world.notifier.messages) == 1


async def test_a_resent_code_voids_the_old_one(monkeypatch):
    world = fake_world()
    codes = iter(["111111", "222222"])
    monkeypatch.setattr(pickup, "new_code", lambda: next(codes))
    d = await moved_to_counter(world)
    await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    await pickup_delivery.resend(world.deps, d.id, actor=CLERK)
    assert [m["params"]["code"] for m in world.notifier.messages] == ["111111", "222222"]
    with pytest.raises(InvalidInput):
        await release(world, d, "111111")
    assert (await release(world, d, "222222")).status is S.PICKED_UP


async def test_the_job_does_nothing_once_the_parcel_was_collected_or_cancelled():
    world = fake_world()
    d = await moved_to_counter(world)
    async with world.uow() as uow:
        await move(uow, d, S.CANCELLED, at=NOW, actor=CLERK, cause="setup")
    await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    assert world.notifier.messages == [] and (await stored(world, d.id)).status is S.CANCELLED


async def test_receipts_are_recorded_once_and_an_undelivered_code_goes_on_a_slip():
    world = fake_world()
    d = await moved_to_counter(world)
    await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    [message] = world.notifier.messages
    failed = SmsReceipt(message["key"], False, "MK:0001", "aliyun")
    unknown = SmsReceipt("no-such-notice", True, "", "aliyun")
    assert await record_receipts(world.deps, [failed, failed, unknown]) == 1
    causes = [cause for _, _, cause in await trail(world, d.id)]
    assert causes.count("SMS not delivered (provider receipt)") == 1
    state = (await states(world, d))[d.id]
    assert state.startswith(pickup.TO_PRINT) and "MK:0001" in state


async def test_a_job_run_again_after_its_code_went_out_sends_nothing_twice():
    """A crash between the send and the job's completion: the job is claimed again."""
    world = fake_world()
    d = await moved_to_counter(world)
    again = await the_job(world)
    await pickup_delivery.handle_pickup_code(again, world.deps)
    await pickup_delivery.handle_pickup_code(again, world.deps)
    [message] = world.notifier.messages
    assert (await release(world, d, message["params"]["code"])).status is S.PICKED_UP


class AnswerLost(FailingNotifier):
    """The first message reaches the provider but its answer is lost (a timeout)."""

    async def send(self, phone, template, params, *, key):
        await self.recorder.send(phone, template, params, key=key)
        if self.errors:
            raise self.errors.pop(0)

    async def was_sent(self, phone, key, at):
        return await self.recorder.was_sent(phone, key, at)


async def test_after_a_lost_answer_the_provider_is_asked_before_sending_again():
    world = fake_world()
    world.deps.notifier = AnswerLost(world.notifier, SmsUnavailable("no answer", code="timeout"))
    d = await moved_to_counter(world)
    with pytest.raises(RetryLater):
        await pickup_delivery.handle_pickup_code(await the_job(world, attempts=1), world.deps)
    await pickup_delivery.handle_pickup_code(await the_job(world, attempts=2), world.deps)
    [message] = world.notifier.messages  # the first one went; none sent twice
    assert "pickup code sent" in [cause for _, _, cause in await trail(world, d.id)]
    assert (await release(world, d, message["params"]["code"])).status is S.PICKED_UP


async def test_an_unreachable_provider_took_nothing_so_the_retry_sends_a_new_code():
    world = fake_world()
    world.deps.notifier = FailingNotifier(world.notifier, SmsUnavailable("refused", code="unreachable"))
    d = await moved_to_counter(world)
    with pytest.raises(RetryLater):
        await pickup_delivery.handle_pickup_code(await the_job(world, attempts=1), world.deps)
    await pickup_delivery.handle_pickup_code(await the_job(world, attempts=2), world.deps)
    [message] = world.notifier.messages
    assert (await release(world, d, message["params"]["code"])).status is S.PICKED_UP


async def test_a_village_point_parcel_s_code_names_the_point_to_collect_at():
    world = fake_world()
    d = await given(
        world, S.RECEIVED, delivery_method=DeliveryMethod.VILLAGE_POINT, village_point_code="VP-YT01"
    )
    async with world.uow() as uow:
        await move(uow, d, S.AWAITING_PICKUP, at=NOW, actor="system", cause="setup")
    await pickup_delivery.handle_pickup_code(await the_job(world), world.deps)
    [message] = world.notifier.messages
    assert "VP-YT01" in message["params"]["place"] and world.deps.settings.origin.name not in message["text"]


# ---- nothing sent twice: a code that may have gone out is looked up before another goes -------------


class Crash(Exception):
    """The worker dies (or its connection does) between the send and recording it."""


class Provider:
    """Like Alibaba Cloud: every send is a message (an OutId is not deduplicated), and `was_sent` looks
    one up by its OutId. `faults`, one per send: "lost" (sent, its answer lost), "not_taken" (timed out
    before the provider took it), "crash" (sent, then the sender dies); `lookup_faults` are raised by the
    next lookups."""

    def __init__(self, *faults: str, lookup_faults=()):
        self.messages: list[dict] = []
        self.faults, self.lookup_faults, self.asked = list(faults), list(lookup_faults), 0

    async def send(self, phone, template, params, *, key):
        fault = self.faults.pop(0) if self.faults else None
        if fault == "not_taken":
            raise SmsUnavailable("no answer", code="timeout")
        self.messages.append({"key": key, "code": params["code"]})
        if fault == "lost":
            raise SmsUnavailable("no answer", code="timeout")
        if fault == "crash":
            raise Crash()
        return f"biz-{len(self.messages)}"

    async def was_sent(self, phone, key, at):
        self.asked += 1
        if self.lookup_faults:
            raise self.lookup_faults.pop(0)
        return any(m["key"] == key for m in self.messages)


async def run(world, attempts):
    """One run of the job, `attempts` its count; the clock moves on between runs, as retries wait."""
    world.clock.advance(minutes=1)
    await pickup_delivery.handle_pickup_code(await the_job(world, attempts=attempts), world.deps)


async def test_a_receipt_for_a_message_whose_answer_was_lost_settles_it_without_a_second_code():
    world = fake_world()
    world.deps.notifier = provider = Provider("lost")
    d = await moved_to_counter(world)
    with pytest.raises(RetryLater):
        await run(world, 1)
    [first] = provider.messages
    assert await record_receipts(world.deps, [SmsReceipt(first["key"], True, "DELIVERED", "aliyun")]) == 1
    await run(world, 2)
    assert provider.messages == [first] and provider.asked == 0  # the receipt said so: nobody asked
    assert "pickup code sent" in [cause for _, _, cause in await trail(world, d.id)]
    assert (await states(world, d))[d.id].startswith("已发送")
    assert (await release(world, d, first["code"])).status is S.PICKED_UP


async def test_a_crash_after_the_send_is_looked_up_not_sent_again():
    world = fake_world()
    world.deps.notifier = provider = Provider("crash")
    d = await moved_to_counter(world)
    with pytest.raises(Crash):
        await run(world, 1)
    assert (await states(world, d))[d.id] == pickup.SENDING
    await run(world, 2)  # the lease ran out: claimed again
    [message] = provider.messages
    assert provider.asked == 1 and (await states(world, d))[d.id].startswith("已发送")
    assert (await release(world, d, message["code"])).status is S.PICKED_UP


async def test_a_failed_write_after_the_send_is_looked_up_not_sent_again(monkeypatch):
    """The database blinks on the write after the send: the worker hands the attempt back uncounted."""
    world = fake_world()
    world.deps.notifier = provider = Provider()
    blips, finish = [ConnectionResetError("database gone")], FakeNotices.finish_notice

    async def finish_notice(self, notice_id, **kw):
        if blips:
            raise blips.pop()
        await finish(self, notice_id, **kw)

    monkeypatch.setattr(FakeNotices, "finish_notice", finish_notice)
    d = await moved_to_counter(world)
    with pytest.raises(ConnectionResetError):
        await run(world, 1)
    await run(world, 1)  # the same attempt again
    [message] = provider.messages
    assert (await release(world, d, message["code"])).status is S.PICKED_UP


async def test_a_failed_lookup_is_asked_again_on_the_next_try_never_answered_by_a_new_code():
    world = fake_world()
    timeout = SmsUnavailable("no answer", code="timeout")
    world.deps.notifier = provider = Provider("lost", lookup_faults=[timeout])
    d = await moved_to_counter(world)
    for attempt in (1, 2):  # the send's answer lost, then the lookup's
        with pytest.raises(RetryLater):
            await run(world, attempt)
    await run(world, 3)
    [message] = provider.messages
    assert provider.asked == 2 and (await states(world, d))[d.id].startswith("已发送")
    assert (await release(world, d, message["code"])).status is S.PICKED_UP


async def test_when_the_provider_cannot_be_asked_the_code_goes_on_a_slip_not_in_a_second_sms():
    world = fake_world()
    world.deps.notifier = FailingNotifier(world.notifier, SmsUnavailable("no answer", code="timeout"))
    d = await moved_to_counter(world)
    with pytest.raises(RetryLater):
        await run(world, 1)
    await run(world, 2)
    assert world.notifier.messages == []
    assert (await states(world, d))[d.id] == f"{pickup.TO_PRINT}（{pickup_delivery.UNCONFIRMED}）"


async def test_the_counter_shows_a_code_as_sent_only_once_the_provider_took_it():
    world = fake_world()
    world.deps.notifier = provider = Provider("not_taken")
    d = await moved_to_counter(world)
    with pytest.raises(RetryLater):
        await run(world, 1)
    assert (await states(world, d))[d.id] == pickup.SENDING  # may have gone: the retry asks
    await run(world, 2)
    [message] = provider.messages  # the provider had not taken the first: a new code went
    assert provider.asked == 1 and (await states(world, d))[d.id].startswith("已发送，")
    assert (await release(world, d, message["code"])).status is S.PICKED_UP


async def test_the_counter_shows_a_failed_send_as_failed_with_the_provider_s_code():
    world = fake_world()
    world.deps.notifier = FailingNotifier(
        world.notifier, SmsThrottled("busy", code="isv.BUSINESS_LIMIT_CONTROL")
    )
    d = await moved_to_counter(world)
    with pytest.raises(RetryLater):
        await run(world, 1)
    assert (await states(world, d))[d.id] == f"{pickup.SEND_FAILED}（isv.BUSINESS_LIMIT_CONTROL）"
    await run(world, 2)
    assert (await states(world, d))[d.id].startswith("已发送，")
