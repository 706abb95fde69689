"""Each SMS and callback says what its own event said, however late its job runs: real scans from the
EMS simulator (traced by the ems_open adapter over loopback), real jobs, a real callback receiver."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest
from sqlalchemy import select

from adapters import build_carrier
from adapters.approval import HttpCallbackSender
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY, start_sandbox
from adapters.sms import RecordingNotifier
from logistics import bootstrap
from logistics.clock import SystemClock
from logistics.config import Settings
from logistics.domain.china_time import CHINA
from logistics.domain.model import Address, DeliveryMethod, Party
from logistics.domain.signing import verify
from logistics.domain.status import Status
from logistics.ports import Shipment
from logistics.service import notifications, pickup, polling
from logistics.service.dispatches import load
from logistics.service.intake import IntakeRequest, record_intake
from logistics.service.job_contract import SMS, TRACK_POLL, Job
from logistics.storage.tracking_tables import carrier_events
from logistics.storage.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from tests.e2e.gateway import free_port
from tests.fixtures.dispatches import NOW, make_dispatch

from .kit import booked_dispatch, jobs_of
from .test_callbacks import SECRET, Receiver, pool, wait_until

FAILED = "收件人不在，未妥投"  # what the simulator's 705 scan says


@pytest.fixture
async def carrier():
    runner, base = await start_sandbox()
    gateway = build_carrier(
        "ems_open", base_url=base, sender_no=DEFAULT_SENDER_NO, sign_key=DEFAULT_SIGN_KEY, timeout_s=5
    )
    yield gateway, base
    await gateway.close()
    await runner.cleanup()


async def parcel(engine, gateway, case_no):
    """A dispatch booked with the simulator (its waybill number is the simulator's)."""
    booking = await gateway.book(
        Shipment(
            order_no=f"RES{case_no}", order_type=2, sender=Party("安福县政务服务中心", "07967654321"),
            sender_address=Address("江西省", "吉安市", "安福县", "平都镇城东大道1号", "343200"),
            receiver=Party("王小明", "13807961234"),
            receiver_address=Address("江西省", "吉安市", "安福县", "王屯村12号", "343200", town="洲湖镇"),
            weight_g=200, declared_value_fen=0, contents="食品经营许可证",
        )
    )  # fmt: skip
    return await booked_dispatch(engine, case_no, booking.waybill_no)


async def advance_and_poll(deps, base, waybill_no, to):
    """The simulator emits the scans up to `to`; a poll job traces and applies them."""
    async with aiohttp.ClientSession() as http:
        url = f"{base}/_control/parcels/{waybill_no}/advance"
        async with http.post(url, json={"to": to}) as response:
            assert response.status == 200, await response.text()
    await polling.handle_poll(Job(0, TRACK_POLL, {"waybills": [waybill_no]}, 1, 3, ""), deps)


async def run_sms_jobs(deps, engine):
    for job in await jobs_of(engine, SMS):
        await notifications.handle_sms(Job(job.id, job.kind, job.payload, 1, 3, ""), deps)


async def test_an_out_for_delivery_sms_never_carries_a_failure_reason(engine, carrier):
    gateway, base = carrier
    sms = RecordingNotifier()
    deps = bootstrap.deps(Settings(), engine=engine, clock=SystemClock(), carrier=gateway, notifier=sms)
    d = await parcel(engine, gateway, "OCC1")
    await advance_and_poll(deps, base, d.waybill_no, "out_for_delivery")
    await advance_and_poll(deps, base, d.waybill_no, "delivery_failed")  # before the SMS job ran
    await run_sms_jobs(deps, engine)
    await advance_and_poll(deps, base, d.waybill_no, "out_for_delivery")  # a second attempt
    await run_sms_jobs(deps, engine)
    sent = [(m["template"], m["params"]) for m in sms.messages if m["template"] != "booked"]
    assert [template for template, _ in sent] == ["out_for_delivery", "delivery_failed", "out_for_delivery"]
    for template, params in sent:
        text = json.dumps(params, ensure_ascii=False)
        if template == "out_for_delivery":
            assert params["reason"] == "" and "未妥投" not in text
        else:
            assert params["reason"] == FAILED


async def test_a_failure_callback_sent_after_the_return_carries_the_failure_and_its_own_time(engine, carrier):
    gateway, base = carrier
    receiver = Receiver(free_port())
    await receiver.up()
    settings = Settings(clients={"approval": SECRET}, callback_url=receiver.url)
    deps = bootstrap.deps(settings, engine=engine, clock=SystemClock(), carrier=gateway)
    d = await parcel(engine, gateway, "OCC2")
    await advance_and_poll(deps, base, d.waybill_no, "delivery_failed")
    await advance_and_poll(deps, base, d.waybill_no, "returned")  # before the callback job ran
    async with engine.connect() as conn:
        assert (await load(SqlUnitOfWork.on(conn), d.id)).status is Status.RETURNED
        scans = {r.raw_code: r for r in await conn.execute(select(carrier_events))}
    sender = HttpCallbackSender(timeout_s=5)
    await sender.open()
    workers = pool(engine, settings, sender)
    await workers.start()
    try:

        async def both():
            return len(receiver.received) == 2

        await wait_until(both)
    finally:
        await workers.stop()
        await sender.close()
        await receiver.down()
    by_status = {e["status"]: e for e in receiver.received}
    failed, returned = by_status["delivery_failed"], by_status["returned"]
    assert failed["reason"] == FAILED
    assert failed["location"] == scans["705"].location
    assert failed["time"] == scans["705"].time.astimezone(CHINA).isoformat()
    assert (returned["reason"], returned["location"]) == (scans["714"].reason, scans["714"].location)
    assert returned["time"] == scans["714"].time.astimezone(CHINA).isoformat()


async def test_a_pickup_at_the_counter_is_called_back_signed_to_the_approval_system(engine):
    receiver = Receiver(free_port())
    seen = []
    original = receiver.handle

    async def keep_raw(request):
        seen.append((await request.read(), dict(request.headers)))
        return await original(request)

    receiver.handle = keep_raw
    await receiver.up()
    settings = Settings(clients={"approval": SECRET}, callback_url=receiver.url)
    sms = RecordingNotifier()
    deps = bootstrap.deps(settings, engine=engine, clock=SystemClock(), notifier=sms)
    d = make_dispatch("OCC3", delivery_method=DeliveryMethod.PICKUP)
    async with engine.begin() as conn:
        # a pickup: awaiting_pickup
        await record_intake(SqlUnitOfWork.on(conn), IntakeRequest(d, "OCC3", NOW, False, 5))
    await pickup.issue(deps, d.id, actor="staff:li", code="246810")
    now = SystemClock().now()
    await pickup.release(
        unit_of_work_factory(engine), d.id, "246810", actor="staff:li", now=now, max_attempts=5
    )
    sender = HttpCallbackSender(timeout_s=5)
    await sender.open()
    workers = pool(engine, settings, sender)
    await workers.start()
    try:

        async def arrived():
            return len(receiver.received) == 1

        await wait_until(arrived)
    finally:
        await workers.stop()
        await sender.close()
        await receiver.down()
    [event] = receiver.received
    assert (event["status"], event["case_no"], event["dispatch_id"]) == ("picked_up", "OCC3", d.id)
    assert event["reason"] == "" and event["time"].endswith("+08:00")
    body, headers = seen[-1]
    assert headers["X-Client-Id"] == "approval"
    signed = (headers["X-Timestamp"], body, headers["X-Signature"])
    assert not verify(SECRET, *signed, now_s=time.time(), window_s=300)
    assert verify("another-secret", *signed, now_s=time.time(), window_s=300)
