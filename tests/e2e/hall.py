"""The gateway with its EMS simulator in this process, on a loopback socket, and a hall full of dispatches
in every status, each driven there through the real flows: signed intake, booking through the
simulator, labels, manifest and handover, carrier scans pushed by the simulator, the counter's pickup
code, a village point's clerk handing a parcel over against the citizen's code, cancellation."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from adapters.ems.crypto import seal
from adapters.ems.open import mapping as m
from logistics import bootstrap
from logistics.config import Settings
from logistics.domain.china_time import CHINA
from logistics.service import users
from logistics.storage.db import create_engine
from logistics.storage.migrate import upgrade
from logistics.storage.unit_of_work import unit_of_work_factory
from logistics.web.keys import DEPS
from tests.e2e import crawler
from tests.e2e.gateway import CLIENT, SECRET, sign
from tests.fixtures.dispatches import intake_body
from tests.integration.finance.kit import line, statement

PASSWORD = "hall-desk-2026"
WAIT_S = 60.0
STAFF = {"dispatcher": "desk", "finance": "money", "admin": "boss"}
VILLAGE = "AF-ZH-WT01"
POINT = {
    "code": VILLAGE, "name": "王屯村代办点", "town": "洲湖镇", "clerk_name": "李经办",
    "clerk_phone": "13907960001",
    "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "洲湖镇",
                "detail": "王屯村村委会", "postcode": "343200"},
}  # fmt: skip
UNREACHABLE = "不可达村1号"  # the simulator refuses this address
CARRIER_STAGES = {"in_transit", "out_for_delivery", "delivered", "delivery_failed", "returned"}
KINDS = {
    "mail": {},
    "village": {"delivery_method": "village_point", "village_point_code": VILLAGE},
    "pickup": {"delivery_method": "pickup"},
    "inbound": {"direction": "inbound"},
}
PLAN = {  # kind -> the statuses its dispatches are driven to
    "mail": ["received", "booking", "booked", "booking_failed", "label_printed", "handed_over", "in_transit",
             "out_for_delivery", "delivered", "delivery_failed", "returning", "returned", "cancelled",
             "cancelled_booked"],
    "village": ["received", "booked", "label_printed", "handed_over", "in_transit", "out_for_delivery",
                "delivery_failed", "awaiting_pickup", "picked_up", "cancelled"],
    "pickup": ["awaiting_pickup", "picked_up", "cancelled"],
    "inbound": ["received", "booked", "booking_failed", "label_printed", "handed_over", "in_transit",
                "delivered", "delivery_failed", "returned", "cancelled"],
}  # fmt: skip
STAGED_CASE = "CRAWL-MAIL-DELIVERED"  # its inbound collection shares it; the approval system posts its stages
AFTER_HANDOVER = CARRIER_STAGES | {"returning", "at_point", "village_released"}
HANDED = AFTER_HANDOVER | {"handed_over"}
PRINTED = HANDED | {"label_printed"}
BOOKED = PRINTED | {"booked", "cancelled_booked"}


@dataclass
class Parcel:
    kind: str
    target: str
    id: str = ""
    case_no: str = ""
    waybill_no: str | None = None

    @property
    def status(self) -> str:
        return {"cancelled_booked": "cancelled"}.get(self.target, self.target)

    @property
    def stage(self) -> str:
        """The step that brings it there: a village point's parcel waits at the point once the carrier
        delivers it there, and is picked up when the point's clerk checks the citizen's code."""
        if self.kind == "village" and self.target in ("awaiting_pickup", "picked_up"):
            return "at_point" if self.target == "awaiting_pickup" else "village_released"
        return self.target


@dataclass
class Hall:
    base: str
    app: web.Application
    http: aiohttp.ClientSession
    tokens: dict[str, str]
    parcels: list[Parcel] = field(default_factory=list)

    def bearer(self, role: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def call(self, method: str, path: str, *, role="dispatcher", expect=(200,), **kw):
        kw.setdefault("headers", self.bearer(role))
        async with self.http.request(method, self.base + path, **kw) as r:
            body = await r.read()
            assert r.status in expect, (method, path, r.status, body[:300])
            return json.loads(body) if r.content_type == "application/json" else body

    async def dispatch(self, dispatch_id: str) -> dict:
        return await self.call("GET", f"/api/v1/dispatches/{dispatch_id}")

    async def wait(self, parcels: list[Parcel], ready, what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        for p in parcels:
            while True:
                d = await self.dispatch(p.id)
                p.waybill_no = d.get("waybill_no")
                if ready(p, d):
                    break
                assert time.monotonic() < deadline, f"{p.case_no} did not {what}: {d['status']}"
                await asyncio.sleep(0.05)

    async def control(self, method: str, path: str, **kw):
        return await self.call(method, f"/sandbox/_control{path}", role="admin", expect=(200, 201), **kw)

    # ---- the story

    async def populate(self) -> list[Parcel]:
        await self.call("POST", "/api/v1/village-points", json=POINT, expect=(201,))
        for kind, targets in PLAN.items():
            for target in targets:
                p = Parcel(kind, target)
                # an inbound collection shares its case with the mail delivery of the same target (issue 15)
                case = "mail" if kind == "inbound" and target in PLAN["mail"] else kind
                body = intake_body(f"CRAWL-{case}-{target}".upper().replace("_", "-"), **KINDS[kind])
                if target == "booking_failed":
                    body["address"]["detail"] = UNREACHABLE
                raw = json.dumps(body, ensure_ascii=False).encode()
                d = await self.call("POST", "/api/v1/dispatches", data=raw, headers=sign(raw), expect=(201,))
                p.id, p.case_no = d["id"], d["case_no"]
                self.parcels.append(p)
        await self.case_stages(STAGED_CASE)
        await self.book([p for p in self.parcels if p.stage in BOOKED or p.target == "booking_failed"])
        await self.print_labels([p for p in self.parcels if p.stage in PRINTED])
        await self.hand_over([p for p in self.parcels if p.stage in HANDED])
        await self.scans([p for p in self.parcels if p.stage in AFTER_HANDOVER])
        await self.cancel([p for p in self.parcels if p.status == "cancelled"])
        await self.booking_stuck([p for p in self.parcels if p.target == "booking"])
        await self.reconcile([p for p in self.parcels if p.waybill_no])
        return self.parcels

    async def case_stages(self, case_no: str) -> None:
        """The approval system's stages of a case (办件进度), signed as the approval system."""
        for i, stage in enumerate(("registered", "accepted", "reviewing", "completed")):
            event = {"stage": stage, "at": f"2026-11-0{i + 1}T09:00:00+08:00", "note": f"{stage} 备注"}
            if i == 0:
                event.update(applicant_phone="13807961234", matter_name="食品经营许可证核发")
            raw = json.dumps(event, ensure_ascii=False).encode()
            path = f"/api/v1/cases/{case_no}/events"
            await self.call("POST", path, data=raw, headers=sign(raw), expect=(201,))

    async def book(self, parcels: list[Parcel]) -> None:
        for p in parcels:
            await self.call("POST", f"/api/v1/dispatches/{p.id}/book", expect=(202,))
        settled = lambda p, d: d["status"] not in ("received", "booking")  # noqa: E731
        await self.wait(parcels, settled, "settle its booking")
        for p in parcels:
            want = "booking_failed" if p.target == "booking_failed" else "booked"
            assert (await self.dispatch(p.id))["status"] == want, p

    async def print_labels(self, parcels: list[Parcel]) -> None:
        await self.call("POST", "/api/v1/labels", json={"ids": [p.id for p in parcels], "size": "100x150"})

    async def hand_over(self, parcels: list[Parcel]) -> None:
        ids, courier = [p.id for p in parcels], "邮政揽投员张师傅"
        body = {"ids": ids, "courier": courier}
        url, headers = f"{self.base}/api/v1/manifests", self.bearer("dispatcher")
        async with self.http.post(url, json=body, headers=headers) as r:
            assert r.status == 200, await r.text()
            manifest_id = r.headers["X-Manifest-Id"]
        body = {"ids": ids, "courier": courier, "manifest_id": manifest_id}
        await self.call("POST", "/api/v1/manifests/confirm", json=body)

    async def scans(self, parcels: list[Parcel]) -> None:
        stage_of = {"returning": "delivery_failed", "at_point": "delivered", "village_released": "delivered"}
        for p in parcels:
            stage = stage_of.get(p.stage, p.stage)
            if stage in CARRIER_STAGES:
                await self.control("POST", f"/parcels/{p.waybill_no}/advance", json={"to": stage})
        wanted = {
            "returning": "delivery_failed",
            "at_point": "awaiting_pickup",
            "village_released": "awaiting_pickup",
        }
        await self.wait(parcels, lambda p, d: d["status"] == wanted.get(p.stage, p.status), "take its scans")
        returning = [p for p in parcels if p.target == "returning"]
        for p in returning:
            await self.push_scan(p, "711", "退回", "邮件退回寄件人")
        await self.wait(returning, lambda p, d: d["status"] == "returning", "start its return")

    async def push_scan(self, p: Parcel, code: str, name: str, desc: str) -> None:
        """A scan the simulator has no stage for, pushed the way EMS pushes (040002, sealed)."""
        scans = (await self.control("GET", f"/parcels/{p.waybill_no}"))["scans"]
        at = datetime.fromisoformat(scans[-1]["time"]) + timedelta(seconds=1)  # after the last one
        item = {
            "waybillNo": p.waybill_no, "opTime": m.ems_time(at), "opCode": code,
            "opName": name, "opDesc": desc, "opOrgName": "安福县揽投部", "opOrgProvName": "江西省",
            "opOrgCity": "吉安市",
        }  # fmt: skip
        settings = self.app[DEPS].settings
        message = {
            "logitcsInterface": seal(json.dumps(item, ensure_ascii=False), settings.carrier_sign_key),
            "method": m.TRACE_PUSH, "msgType": "0", "senderNo": settings.carrier_sender_no,
            "serialNo": uuid.uuid4().hex, "timeStamp": m.ems_time(datetime.now(CHINA)), "version": m.VERSION,
        }  # fmt: skip
        answer = await self.call("POST", "/api/v1/carriers/ems/push", json=message, headers={})
        assert answer.get("code") == "00000", answer

    async def cancel(self, parcels: list[Parcel]) -> None:
        for p in parcels:
            await self.call("POST", f"/api/v1/dispatches/{p.id}/cancel", expect=(200, 202))
        await self.wait(parcels, lambda p, d: d["status"] == "cancelled", "get cancelled")

    async def booking_stuck(self, parcels: list[Parcel]) -> None:
        """The carrier answers 500 to every booking and lookup: the dispatch stays in `booking`."""
        for operation in ("create_order", "find_order"):
            fault = {"operation": operation, "mode": "http_500", "count": 10**6}
            await self.control("POST", "/faults", json=fault)
        for p in parcels:
            await self.call("POST", f"/api/v1/dispatches/{p.id}/book", expect=(202,))
        await self.wait(parcels, lambda p, d: d["status"] == "booking", "wait in booking")

    async def reconcile(self, parcels: list[Parcel]) -> None:
        """Finance reconciles this month's statement: the carrier billed two of ours and one stranger."""
        month = datetime.now(CHINA).strftime("%Y-%m")
        lines = [line(p.waybill_no, f"{month}-01") for p in parcels[:2]]
        form = aiohttp.FormData()
        form.add_field("period", month)
        content = statement(*lines, line("1199000000001", f"{month}-02", total="9.50"))
        form.add_field("file", content, filename="EMS对账单.csv", content_type="text/csv")
        await self.call("POST", "/api/v1/reconciliations", role="finance", data=form, expect=(201,))

    # ---- at the console (a dispatcher's signed-in session)

    async def console_steps(self, desk: aiohttp.ClientSession) -> None:
        """What only the console (and the clerk's page) does: the pickup code at the counter, a village
        point's clerk handing a parcel over."""
        for p in [p for p in self.parcels if (p.kind, p.target) == ("pickup", "picked_up")]:
            csrf = await crawler.csrf_of(desk, f"{self.base}/console/pickup")
            async with desk.post(f"{self.base}/console/pickup/{p.id}/send", data={"csrf": csrf}) as r:
                assert r.status == 200, await r.text()
            sms = await self.control("GET", "/sms")
            code = [x for x in sms["messages"] if x["template"] == "pickup_code"][-1]["params"]["code"]
            form = {"csrf": csrf, "code": code}
            async with desk.post(f"{self.base}/console/pickup/{p.id}/verify", data=form) as r:
                assert r.status == 200, await r.text()
        for p in [p for p in self.parcels if p.stage == "village_released"]:
            await self.village_release(desk, p)
        for p in self.parcels:
            d = await self.dispatch(p.id)
            assert d["status"] == p.status, (p, d["status"])

    async def village_release(self, desk: aiohttp.ClientSession, p: Parcel) -> None:
        """The citizen's code sent from the counter's page, the clerk's link issued by staff, and the
        clerk hands the parcel over on the clerk's page."""
        csrf = await crawler.csrf_of(desk, f"{self.base}/console/pickup")
        async with desk.post(f"{self.base}/console/pickup/{p.id}/send", data={"csrf": csrf}) as r:
            assert r.status == 200, await r.text()
        sms = await self.control("GET", "/sms")
        code = [x for x in sms["messages"] if x["template"] == "pickup_code"][-1]["params"]["code"]
        access = await self.call("POST", f"/api/v1/village-points/{VILLAGE}/access", expect=(201,))
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:
            async with phone.get(self.base + access["link"]) as r:
                page = await r.text()
                assert r.status == 200 and p.id in page, page[-800:]
            form_csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            form = {"csrf": form_csrf, "id": p.id, "code": code}
            async with phone.post(f"{self.base}/clerk/release", data=form) as r:
                assert r.status == 200 and "已交付" in await r.text()


def _settings(workdir: Path, clients: dict | None = None) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{workdir / 'certpost.db'}",
        clients={CLIENT: SECRET, **(clients or {})},
        carrier="sandbox", sandbox_protocol="ems_open", public_url="", callback_url="", auto_book=False,
        pool_offline=False, job_max_attempts=1000,
    )  # fmt: skip


async def _staff(settings: Settings) -> dict[str, str]:
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        now = datetime.now(CHINA)
        return {
            role: await users.create(
                unit_of_work_factory(engine)(), name, role, password=PASSWORD, actor="test", now=now
            )
            for role, name in STAFF.items()
        }
    finally:
        await engine.dispose()


@asynccontextmanager
async def open_hall(workdir: Path, prepare=None, clients: dict | None = None):
    """The gateway on a loopback socket; `prepare(app)` may add routes before it starts; `clients` are
    machine clients besides the approval system's."""
    settings = _settings(workdir, clients)
    tokens = await _staff(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = bootstrap.gateway(settings, self_url=base)
    if prepare is not None:
        prepare(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            yield Hall(base, app, http, tokens)
    finally:
        await runner.cleanup()
        sock.close()


def console_session() -> aiohttp.ClientSession:
    """A browser-like client: keeps the console's cookies (an IP address host needs `unsafe`)."""
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=60)
    )
