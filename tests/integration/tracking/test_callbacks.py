"""Callbacks to the approval system over loopback: signed, retried while it is down, delivered once,
dead-lettered after the limit and put back by staff."""

import asyncio
import json
import time

from aiohttp import web

from adapters.approval import HttpCallbackSender
from logistics import bootstrap
from logistics.clock import SystemClock
from logistics.config import Settings
from logistics.domain.signing import verify
from logistics.domain.status import Status
from logistics.jobs import queue
from logistics.jobs.worker import WorkerPool
from logistics.service import callbacks, notifications, tracking
from logistics.service.job_contract import CALLBACK
from logistics.storage.job_repo import SqlJobs
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.e2e.gateway import free_port

from .kit import NOW, booked_dispatch, jobs_of, scan

SECRET = "callback-secret"


class Receiver:
    """The approval system: records callbacks with a valid signature, drops repeated event ids."""

    def __init__(self, port: int):
        self.port, self.url = port, f"http://127.0.0.1:{port}/certpost/callbacks"
        self.received, self.event_ids, self.runner = [], set(), None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        h = request.headers
        problem = verify(SECRET, h["X-Timestamp"], body, h["X-Signature"], now_s=time.time(), window_s=300)
        if problem or h["X-Client-Id"] != "approval":
            return web.json_response({"error": problem}, status=401)
        event = json.loads(body)
        if event["event_id"] not in self.event_ids:
            self.event_ids.add(event["event_id"])
            self.received.append(event)
        return web.json_response({"ok": True})

    async def up(self):
        app = web.Application()
        app.router.add_post("/certpost/callbacks", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def down(self):
        await self.runner.cleanup()


async def delivered(engine):
    d = await booked_dispatch(engine)
    await tracking.record(unit_of_work_factory(engine)(), [scan(Status.DELIVERED, 5)], now=NOW, source="push")
    return d


def pool(engine, settings, sender):
    deps = bootstrap.deps(settings, engine=engine, clock=SystemClock(), callback_sender=sender)
    handlers = {**callbacks.job_handlers(deps), **notifications.job_handlers(deps)}
    return WorkerPool(engine, deps.clock, handlers, concurrency=2, lease_s=10, idle_poll_s=0.05)


async def wait_until(predicate, within_s=20.0):
    for _ in range(int(within_s / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_callback_is_retried_while_the_receiver_is_down_and_arrives_once_when_it_is_up(engine):
    receiver = Receiver(free_port())
    settings = Settings(clients={"approval": SECRET}, callback_url=receiver.url, callback_retry_base_s=0.2)
    sender = HttpCallbackSender(timeout_s=2)
    await sender.open()
    workers = pool(engine, settings, sender)
    d = await delivered(engine)
    await workers.start()
    try:

        async def attempted_twice():
            return any(j.attempts >= 2 for j in await jobs_of(engine, CALLBACK))

        await wait_until(attempted_twice)
        await receiver.up()

        async def done():
            return all(j.state == queue.DONE for j in await jobs_of(engine, CALLBACK))

        await wait_until(done)
    finally:
        await workers.stop()
        await sender.close()
        await receiver.down()
    [event] = receiver.received
    assert (event["case_no"], event["status"], event["waybill_no"]) == (d.case_no, "delivered", d.waybill_no)
    assert event["time"].endswith("+08:00") and event["event_id"]


async def test_a_callback_is_dead_lettered_after_the_limit_and_can_be_put_back(engine):
    receiver = Receiver(free_port())
    settings = Settings(
        clients={"approval": SECRET},
        callback_url=receiver.url,
        callback_retry_base_s=0.05,
        callback_max_attempts=2,
    )
    sender = HttpCallbackSender(timeout_s=2)
    await sender.open()
    workers = pool(engine, settings, sender)
    await delivered(engine)
    await workers.start()
    try:

        async def dead():
            return [j for j in await jobs_of(engine, CALLBACK) if j.state == queue.DEAD]

        await wait_until(dead)
        [job] = await dead()
        assert "unreachable" in job.last_error
        await receiver.up()
        async with engine.begin() as conn:
            assert await SqlJobs(conn).retry_dead(job.id, now=SystemClock().now())
        workers.wake()

        async def finished():  # received, and its job has recorded the outcome
            if len(receiver.received) != 1:
                return False
            async with unit_of_work_factory(engine)(read_only=True) as uow:
                return (await uow.tracking.get_notice(receiver.received[0]["event_id"])).sent_at

        await wait_until(finished)
    finally:
        await workers.stop()
        await sender.close()
        await receiver.down()
    async with unit_of_work_factory(engine)(read_only=True) as uow:
        notice = await uow.tracking.get_notice(receiver.received[0]["event_id"])
    assert notice.sent_at is not None and notice.outcome.startswith("delivered")
