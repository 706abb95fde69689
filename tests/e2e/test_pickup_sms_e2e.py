"""Counter pickup that runs itself, over sockets, on a real `certpost serve`:
- with the built-in SMS simulator: a self-pickup intake reaches awaiting_pickup and its code SMS appears in
  the simulator's log with no staff action; a code re-sent through the staff API voids the old one; the
  counter releases the parcel with the new code;
- with no SMS (`CERTPOST_SMS=none`): the parcel waits on the counter page as 取件码待打印; the slip
  (取件通知单) printed from the console is a PDF whose code (read back by pdftotext) releases the parcel;
- with Alibaba Cloud SMS (`CERTPOST_SMS=aliyun`) against its loopback simulator, which checks every
  signature as Aliyun does: flow control is retried and the code then goes out once, an illegal number sends
  the code to the slip queue, a message whose answer was lost is looked up (QuerySendDetails) instead of
  sent twice, and delivery receipts pushed back are recorded in the audit trail."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import threading
import time

import aiohttp
import pytest
from aiohttp import web

from adapters.sms.aliyun.simulator import AliyunSmsSimulator
from logistics.domain.masking import mask_name
from logistics.domain.sms_text import TEMPLATES
from tests.e2e import crawler
from tests.e2e.console_kit import PASSWORD, add_user
from tests.e2e.gateway import Gateway, free_port
from tests.fixtures.dispatches import intake_body

pytestmark = pytest.mark.timeout(240)
FAST_RETRIES = {"CERTPOST_SMS_RETRY_BASE_S": "0.3", "CERTPOST_JOB_LEASE_S": "20"}


def wait_for(probe, what: str, timeout: float = 60.0, step: float = 0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


class Staff:
    """A dispatcher with a password: API calls with its token, counter actions in its console session."""

    def __init__(self, gw: Gateway, name: str = "desk"):
        self.gw, self.name = gw, name
        self.token = add_user(gw, name, "dispatcher")
        self.auth = {"Authorization": f"Bearer {self.token}"}

    def dispatch(self, dispatch_id: str) -> dict:
        status, body = self.gw.request("GET", f"/api/v1/dispatches/{dispatch_id}", headers=self.auth)
        assert status == 200, body
        return body

    def causes(self, dispatch_id: str) -> list[str]:
        return [e["cause"] for e in self.dispatch(dispatch_id)["events"]]

    async def counter(self, http: aiohttp.ClientSession) -> str:
        async with http.get(f"{self.gw.base}/console/pickup") as r:
            assert r.status == 200
            return await r.text()

    async def verify(self, http: aiohttp.ClientSession, dispatch_id: str, code: str) -> str:
        csrf = await crawler.csrf_of(http, f"{self.gw.base}/console/pickup")
        form = {"csrf": csrf, "code": code}
        async with http.post(f"{self.gw.base}/console/pickup/{dispatch_id}/verify", data=form) as r:
            return await r.text()


def pdftotext(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def desk() -> aiohttp.ClientSession:
    """A browser-like session: the console's cookie is set by 127.0.0.1."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def self_pickup(gw: Gateway, case_no: str, **over) -> str:
    status, d = gw.submit(intake_body(case_no, delivery_method="pickup", **over))
    assert status == 201 and d["status"] == "awaiting_pickup", (status, d)
    return d["id"]


def code_messages(gw: Gateway) -> list[dict]:
    status, body = gw.control("GET", "/sms")
    assert status == 200, body
    return [m for m in body["messages"] if m["template"] == "pickup_code"]


async def test_with_the_sms_simulator_the_code_goes_out_by_itself_and_a_new_one_voids_it(tmp_path):
    gw = Gateway(tmp_path, **FAST_RETRIES).start()
    try:
        staff = Staff(gw)
        dispatch_id = self_pickup(gw, "SMS-SIM-1")
        [first] = wait_for(lambda: code_messages(gw), "the pickup code SMS")
        code = first["params"]["code"]
        assert re.fullmatch(r"\d{6}", code) and first["phone_last4"] == "1234"
        assert "取件码" + code in first["text"] and "王小明" not in json.dumps(first, ensure_ascii=False)
        events = json.dumps(staff.dispatch(dispatch_id)["events"], ensure_ascii=False)
        assert "pickup code sent" in events and code not in events
        status, sent = gw.request("POST", f"/api/v1/dispatches/{dispatch_id}/pickup-code", headers=staff.auth)
        assert status == 200 and sent["sent_to"].endswith("34") and "13807961234" not in json.dumps(sent)
        second = code_messages(gw)[-1]["params"]["code"]
        async with desk() as http:
            await crawler.sign_in(http, gw.base, staff.name, PASSWORD)
            assert "已发送" in await staff.counter(http)
            if second != code:
                assert "取件码不正确" in await staff.verify(http, dispatch_id, code)
            await staff.verify(http, dispatch_id, second)
        assert staff.dispatch(dispatch_id)["status"] == "picked_up"
        assert len(code_messages(gw)) == 2  # the automatic one and the re-sent one: nothing twice
    finally:
        gw.stop()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) not installed")
async def test_without_sms_the_code_is_printed_on_a_slip_that_releases_the_parcel(tmp_path):
    gw = Gateway(tmp_path, CERTPOST_SMS="none", **FAST_RETRIES).start()
    try:
        staff = Staff(gw)
        dispatch_id = self_pickup(gw, "SMS-NONE-1")
        wait_for(lambda: "pickup code to be printed on a slip" in staff.causes(dispatch_id), "the slip queue")
        async with desk() as http:
            await crawler.sign_in(http, gw.base, staff.name, PASSWORD)
            page = await staff.counter(http)
            assert "取件码待打印（未配置短信服务）" in page
            csrf = await crawler.csrf_of(http, f"{gw.base}/console/pickup")
            async with http.post(f"{gw.base}/console/pickup/{dispatch_id}/slip", data={"csrf": csrf}) as r:
                assert r.status == 200 and r.content_type == "application/pdf"
                assert r.headers["Cache-Control"] == "no-store"
                pdf = await r.read()
            (tmp_path / "slip.pdf").write_bytes(pdf)
            text = await asyncio.to_thread(pdftotext, tmp_path / "slip.pdf")
            flat = "".join(text.split())
            assert "取件通知单" in flat and "食品经营许可证核发" in flat and "县政务服务中心" in flat
            assert "王小明" not in flat and mask_name("王小明") in flat
            code = re.search(r"取件码(\d{6})", flat)[1]
            assert "取件码待打印（" not in await staff.counter(http)
            await staff.verify(http, dispatch_id, code)
        assert staff.dispatch(dispatch_id)["status"] == "picked_up"
        assert "pickup slip printed" in staff.causes(dispatch_id)
        assert code not in json.dumps(staff.dispatch(dispatch_id)["events"])
    finally:
        gw.stop()


class ThreadedServer:
    """An aiohttp app on a loopback port, served from a thread of its own (the test blocks on HTTP)."""

    def __init__(self, app: web.Application):
        self.app, self.port = app, free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        self.runner = web.AppRunner(self.app)
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self):
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


ALIYUN_KEY, ALIYUN_SECRET, SIGN = "LTAI5tE2eTestKey", "e2e-aliyun-secret-0123456789", "安福县政务服务中心"
CODES = {kind: f"SMS_46{i:04d}" for i, kind in enumerate(TEMPLATES)}
RECEIPT_TOKEN = "receipt-token-0123456789"


async def test_aliyun_sms_signed_retried_refused_to_a_slip_and_receipts_recorded(tmp_path):
    port = free_port()
    sim = AliyunSmsSimulator(
        keys={ALIYUN_KEY: ALIYUN_SECRET},
        sign_name=SIGN,
        templates={CODES[k]: text for k, text in TEMPLATES.items()},
        receipt_url=f"http://127.0.0.1:{port}/api/v1/sms/aliyun/receipts?token={RECEIPT_TOKEN}",
    )
    with ThreadedServer(sim.app()) as provider:
        env = {
            "CERTPOST_SMS": "aliyun",
            "CERTPOST_ALIYUN_SMS_ENDPOINT": provider.url,
            "CERTPOST_ALIYUN_SMS_ACCESS_KEY_ID": ALIYUN_KEY,
            "CERTPOST_ALIYUN_SMS_ACCESS_KEY_SECRET": ALIYUN_SECRET,
            "CERTPOST_ALIYUN_SMS_SIGN_NAME": SIGN,
            "CERTPOST_ALIYUN_SMS_TEMPLATES": json.dumps(CODES),
            "CERTPOST_ALIYUN_SMS_RECEIPT_TOKEN": RECEIPT_TOKEN,
            "CERTPOST_ALIYUN_SMS_THROTTLE_RETRY_S": "0.5",
            "CERTPOST_SMS_TIMEOUT_S": "2",
            **FAST_RETRIES,
        }
        gw = Gateway(tmp_path, **env)
        gw.port, gw.base = port, f"http://127.0.0.1:{port}"
        gw.start()
        try:
            staff = Staff(gw)
            http = desk()
            async with http:
                sim._faults.append("throttle")  # the next send meets flow control
                a = self_pickup(gw, "SMS-ALI-1")
                [message] = wait_for(lambda: sim.messages, "the code through Aliyun")
                codes = [
                    r["code"] for r in sim.requests if r["out_id"] == message["out_id"]
                ]  # one OutId a try
                throttled = [r for r in sim.requests if r["code"] == "isv.BUSINESS_LIMIT_CONTROL"]
                assert codes == ["OK"] and len(throttled) == 1  # retried with a new notice, sent once
                assert message["template_code"] == CODES["pickup_code"] and message["phone_last4"] == "1234"
                assert message["text"].startswith(f"【{SIGN}】您办理的食品经营许可证核发已到")
                code = message["params"]["code"]
                wait_for(lambda: "SMS delivered (provider receipt)" in staff.causes(a), "the receipt")

                sim._faults.append("illegal_number")  # the provider refuses the next number for good
                b = self_pickup(gw, "SMS-ALI-2")
                wait_for(
                    lambda: "pickup code to be printed on a slip" in staff.causes(b), "the slip fallback"
                )
                await crawler.sign_in(http, gw.base, staff.name, PASSWORD)
                page = await staff.counter(http)
                assert "取件码待打印" in page and "isv.MOBILE_NUMBER_ILLEGAL" in page

                sim._faults.append("sent_then_timeout")  # the message goes, its answer is lost
                sent_before = len(sim.messages)
                c = self_pickup(gw, "SMS-ALI-3")
                wait_for(
                    lambda: "pickup code sent" in staff.causes(c), "the lost answer confirmed", timeout=90
                )
                assert len(sim.messages) == sent_before + 1  # asked (QuerySendDetails), not sent twice
                assert [r for r in sim.requests if r["action"] == "QuerySendDetails" and r["code"] == "OK"]
                await staff.verify(http, c, sim.messages[-1]["params"]["code"])
                assert staff.dispatch(c)["status"] == "picked_up"

                status, _ = gw.request("POST", "/api/v1/sms/aliyun/receipts?token=wrong", b"[]")
                assert status == 403
                await staff.verify(http, a, code)
            assert staff.dispatch(a)["status"] == "picked_up"
            assert all(
                r["code"] not in {"SignatureDoesNotMatch", "InvalidAccessKeyId.NotFound"}
                for r in sim.requests
            )
        finally:
            gw.stop()


def test_aliyun_without_its_keys_refuses_to_start_naming_what_is_missing(tmp_path):
    gw = Gateway(tmp_path, CERTPOST_SMS="aliyun", CERTPOST_ALIYUN_SMS_SIGN_NAME=SIGN)
    result = gw.cli("serve", "--port", str(free_port()))
    assert result.returncode == 2
    [reason] = result.stderr.strip().splitlines()
    assert "aliyun_sms_access_key_id" in reason and "aliyun_sms_templates.pickup_code" in reason
    assert "aliyun_sms_sign_name" not in reason
