"""Failures are logged as JSON lines with ids and codes: carrier retries, the breaker opening and
closing, carrier auth errors, callback failures, dead letters, and a 500 with its stack. No line holds
the recipient's name, phone or address."""

import io
import json
import logging

import aiohttp
import pytest
from aiohttp import web

from adapters import build_carrier
from adapters.approval import HttpCallbackSender
from adapters.sandbox import DEFAULT_SENDER_NO, start_sandbox
from logistics import bootstrap
from logistics.config import Settings
from logistics.jobs import queue
from logistics.logs import JsonFormatter
from logistics.ports import CarrierAuthError
from logistics.service.job_contract import CALLBACK
from logistics.service.resilience import CircuitBreaker, GuardedCarrier
from tests.e2e.gateway import free_port
from tests.fixtures.dispatches import intake_body
from tests.integration.core.test_booking_flow import Stack
from tests.integration.tracking.kit import jobs_of
from tests.integration.tracking.test_callbacks import Receiver, delivered, pool, wait_until

NAME, PHONE, DETAIL = "欧阳娜娜", "13912345678", "幸福路88号3栋501室"
KIT_NAME, KIT_PHONE, KIT_DETAIL = "王小明", "13807961234", "王屯村12号"  # tests/fixtures/dispatches.py
PERSONAL = (NAME, PHONE, PHONE[-8:], DETAIL, "3栋501", KIT_NAME, KIT_PHONE, KIT_DETAIL)


class JsonLines:
    def __init__(self):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def matching(self, text: str) -> list[dict]:
        return [e for e in self.entries() if text in e["msg"]]

    def assert_no_personal_data(self):
        text = self.stream.getvalue()
        for secret in PERSONAL:
            assert secret not in text, f"{secret!r} appears in the logs"


@pytest.fixture
def logs():
    lines, root, ours = JsonLines(), logging.getLogger(), logging.getLogger("certpost")
    before = ours.level
    root.addHandler(lines.handler)
    ours.setLevel(logging.INFO)
    yield lines
    root.removeHandler(lines.handler)
    ours.setLevel(before)


async def test_carrier_retries_and_the_breaker_are_logged(tmp_path, logs):
    stack = await Stack().start(tmp_path, "ems_open")
    stack.carrier.breaker = CircuitBreaker(threshold=2, reset_s=0.3)
    stack.carrier.breaker.name = stack.carrier.name
    try:
        await stack.control("POST", "/faults", {"operation": "*", "mode": "http_500", "count": 4})
        address = intake_body()["address"] | {"detail": DETAIL}
        d = await stack.submit("LOGS-1", recipient={"name": NAME, "phone": PHONE}, address=address)
        [state] = await stack.settle([d["id"]], done=("booked",), wait_s=30)
    finally:
        await stack.stop()
    assert state["status"] == "booked"
    in_process = logs.matching("(in-process attempt")
    assert in_process and all(" retry in " in e["msg"] and ": 500 " in e["msg"] for e in in_process[:1])
    assert state["order_no"] in in_process[0]["msg"]
    [opened] = logs.matching("circuit opened")
    assert "ems_open" in opened["msg"] and opened["level"] == "warning"
    assert logs.matching("carrier ems_open circuit closed")
    [job_retry] = logs.matching(f"(book, dispatch_id {d['id']}) retry in")[:1]
    assert "ems_open:" in job_retry["msg"] and "attempt 1 of 8" in job_retry["msg"]
    logs.assert_no_personal_data()


async def test_a_carrier_auth_error_is_logged(logs):
    runner, base = await start_sandbox()
    wrong_key = "d3Jvbmcta2V5LTEyMzQ1Ng=="  # Base64 of a 16-byte key the simulator does not hold
    carrier = GuardedCarrier(
        build_carrier("ems_open", base_url=base, sender_no=DEFAULT_SENDER_NO, sign_key=wrong_key, timeout_s=2)
    )
    try:
        with pytest.raises(CarrierAuthError):
            await carrier.find_booking("CP-AUTH-1")
    finally:
        await carrier.close()
        await runner.cleanup()
    [entry] = logs.matching("refused our credentials")
    assert entry["level"] == "error" and "ems_open" in entry["msg"] and "A0001" in entry["msg"]
    assert carrier.breaker.failures == 0  # bad credentials are no outage


async def test_callback_failures_and_the_dead_letter_are_logged(engine, logs):
    receiver = Receiver(free_port())
    settings = Settings(
        clients={"approval": "not-the-receivers-secret"}, callback_url=receiver.url,
        callback_retry_base_s=0.05, callback_max_attempts=3,
    )  # fmt: skip
    sender = HttpCallbackSender(timeout_s=2)
    await sender.open()
    workers = pool(engine, settings, sender)
    await delivered(engine)
    await workers.start()
    try:

        async def attempted():
            return bool(logs.matching("failed: unreachable"))

        await wait_until(attempted)  # the receiver is down: unreachable
        await receiver.up()  # now up, but our signature is wrong for it: HTTP 401

        async def dead():
            return [j for j in await jobs_of(engine, CALLBACK) if j.state == queue.DEAD]

        await wait_until(dead)
        [job] = await dead()
    finally:
        await workers.stop()
        await sender.close()
        await receiver.down()
    failures = logs.matching(f"(job {job.id}) failed")
    assert failures and failures[0]["msg"].startswith("callback ")
    assert {e["msg"].split(": ")[1].split(" ")[0] for e in failures} == {"unreachable", "http_401"}
    about_job = logs.matching(f"job {job.id} (callback, notice_id ")
    [dead_letter] = [e for e in about_job if "dead-lettered" in e["msg"]]
    assert "dead-lettered after 3 attempts: callback_http_401" in dead_letter["msg"]
    assert len([e for e in about_job if " retry in " in e["msg"]]) == 2
    logs.assert_no_personal_data()


async def test_a_500_logs_its_stack_but_not_the_message(tmp_path, logs):
    async def broken(request):
        raise RuntimeError(f"bad row for {NAME} {PHONE}")  # a message quoting personal data

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gw.db")
    app = bootstrap.app(settings, run_workers=False)
    app.router.add_get("/broken-for-test", broken)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{runner.addresses[0][1]}/broken-for-test") as r:
                assert r.status == 500
    finally:
        await runner.cleanup()
    [entry] = logs.matching("unhandled error on GET /broken-for-test")
    assert entry["level"] == "error" and entry["exc"] == "RuntimeError"
    assert "in broken" in entry["stack"] and "test_failure_logs.py" in entry["stack"]
    assert entry["stack"].rstrip().endswith("RuntimeError")
    logs.assert_no_personal_data()
