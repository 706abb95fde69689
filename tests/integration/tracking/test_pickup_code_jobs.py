"""The pickup code's job on the real storage (SQLite and PostgreSQL): exactly one per move to
awaiting_pickup, whichever path made the move (intake's self-pickup, a single move, a batch of moves) and
however often the move is announced or the intake replayed; run, it sends one SMS through the notifier and
keeps only the code's hash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.sms import RecordingNotifier
from logistics import bootstrap
from logistics.clock import SystemClock
from logistics.config import Settings
from logistics.domain.model import DeliveryMethod
from logistics.domain.status import Status
from logistics.ports import SmsUnavailable
from logistics.service import pickup, pickup_delivery
from logistics.service.dispatches import load, move, move_many
from logistics.service.intake import IntakeRequest, record_intake
from logistics.service.job_contract import PICKUP_CODE, Job, RetryLater
from logistics.service.notifications import announce
from logistics.service.sms_receipts import SmsReceipt, record_receipts
from logistics.storage.console_tables import pickup_codes
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.fixtures.dispatches import NOW, make_dispatch

from .kit import jobs_of


async def intake(engine, case_no: str, **over):
    d = make_dispatch(case_no, created_at=NOW, **over)
    async with unit_of_work_factory(engine)() as uow:
        return await record_intake(uow, IntakeRequest(d, "h-" + case_no, NOW, False, 8))


async def test_a_self_pickup_intake_queues_one_code_job_even_when_replayed(engine):
    first = await intake(engine, "P-1", delivery_method=DeliveryMethod.PICKUP)
    again = await intake(engine, "P-1", delivery_method=DeliveryMethod.PICKUP)
    assert first.created and not again.created and first.queued
    [job] = await jobs_of(engine, PICKUP_CODE)
    assert job.payload["dispatch_id"] == first.response["id"]
    assert job.dedupe_key == f"{PICKUP_CODE}:{first.response['id']}:{NOW.isoformat()}"


async def test_single_and_batched_moves_queue_one_job_per_move_however_often_announced(engine):
    one = await intake(engine, "M-1")
    many = [await intake(engine, f"M-{i}") for i in (2, 3)]
    factory = unit_of_work_factory(engine)
    async with factory() as uow:
        d = await load(uow, one.response["id"])
        after = await move(uow, d, Status.AWAITING_PICKUP, at=NOW, actor="test", cause="setup")
        await announce(uow, d, after, NOW)  # announced twice: still one job
    async with factory() as uow:
        ds = [await load(uow, r.response["id"]) for r in many]
        moves = [(x, *x.moved(Status.AWAITING_PICKUP, at=NOW, actor="test", cause="setup")) for x in ds]
        assert len(await move_many(uow, moves, at=NOW)) == 2
    async with factory() as uow:
        assert await move_many(uow, moves, at=NOW) == set()  # moved already: nothing again
    jobs = await jobs_of(engine, PICKUP_CODE)
    assert sorted(j.payload["dispatch_id"] for j in jobs) == sorted(r.response["id"] for r in [one, *many])


async def test_the_job_sends_one_code_and_stores_only_its_hash(engine):
    made = await intake(engine, "P-2", delivery_method=DeliveryMethod.PICKUP)
    [row] = await jobs_of(engine, PICKUP_CODE)
    sms = RecordingNotifier()
    deps = bootstrap.deps(Settings(), engine=engine, clock=SystemClock(), notifier=sms)
    await pickup_delivery.handle_pickup_code(Job(row.id, row.kind, row.payload, 1, 8, ""), deps)
    [message] = sms.messages
    code = message["params"]["code"]
    async with engine.connect() as conn:
        stored = (await conn.execute(select(pickup_codes))).one()
    assert stored.dispatch_id == made.response["id"] and code not in stored.code_hash
    assert stored.expires_at - stored.created_at == timedelta(hours=deps.settings.pickup_code_hours)


class AnswerLostOnce:
    """Takes every message (as Alibaba Cloud does: an OutId is not deduplicated); the first's answer is
    lost on the way back."""

    def __init__(self):
        self.messages, self.asked = [], 0

    async def send(self, phone, template, params, *, key):
        self.messages.append({"key": key, "code": params["code"]})
        if len(self.messages) == 1:
            raise SmsUnavailable("no answer", code="timeout")
        return "biz-2"

    async def was_sent(self, phone, key, at):
        self.asked += 1
        return any(m["key"] == key for m in self.messages)


async def test_a_lost_answer_shows_as_sending_and_its_receipt_settles_it_without_a_second_code(engine):
    """On the real storage: the stored code finds its notice (written with it, at one time) again."""
    made = await intake(engine, "P-3", delivery_method=DeliveryMethod.PICKUP)
    dispatch_id, [row] = made.response["id"], await jobs_of(engine, PICKUP_CODE)
    sms = AnswerLostOnce()
    deps = bootstrap.deps(Settings(), engine=engine, clock=SystemClock(), notifier=sms)

    async def state():
        states = await pickup.codes_state(deps.uow(read_only=True), [dispatch_id], now=SystemClock().now())
        return states[dispatch_id]

    with pytest.raises(RetryLater):
        await pickup_delivery.handle_pickup_code(Job(row.id, row.kind, row.payload, 1, 8, ""), deps)
    assert await state() == pickup.SENDING
    [first] = sms.messages
    assert await record_receipts(deps, [SmsReceipt(first["key"], True, "DELIVERED", "aliyun")]) == 1
    await pickup_delivery.handle_pickup_code(Job(row.id, row.kind, row.payload, 2, 8, ""), deps)
    assert sms.messages == [first] and sms.asked == 0 and (await state()).startswith("已发送，")
    released = await pickup.release(
        deps.uow, dispatch_id, first["code"], actor="staff:li", now=SystemClock().now(), max_attempts=3
    )
    assert released.status is Status.PICKED_UP
