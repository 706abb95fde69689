"""The citizen's whole case on the `/track` page, in headless Chromium at phone width over a real
`certpost serve` (issue 15): one timeline from 登记 to 送达, a counter pickup's own step, both directions.
Screenshots go to screenshots/ at the project root."""

from __future__ import annotations

import json

import pytest

from tests.e2e.console_kit import browser_only, launch, shot, wait_for
from tests.e2e.gateway import Gateway, sign
from tests.fixtures.dispatches import intake_body

pytestmark = browser_only
PHONE = "13807961234"
STAGES = ["registered", "accepted", "reviewing", "completed"]


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("case-page")).start()
    gateway.admin = {"Authorization": f"Bearer {gateway.staff_token('page-admin', 'admin')}"}
    yield gateway
    gateway.stop()


def stages(gw: Gateway, case_no: str, names=STAGES) -> None:
    for i, stage in enumerate(names):
        event = {"stage": stage, "at": f"2026-11-0{1 + i}T09:30:00+08:00"}
        if i == 0:
            event.update(applicant_phone=PHONE, matter_name="食品经营许可证核发", note="材料齐全")
        body = json.dumps(event, ensure_ascii=False).encode()
        status, answer = gw.request("POST", f"/api/v1/cases/{case_no}/events", body, sign(body))
        assert status == 201, answer


def submitted(gw: Gateway, body: dict) -> dict:
    status, d = gw.submit(body)
    assert status == 201, d
    return d


def reaches(gw: Gateway, d: dict, to: str) -> None:
    """Booked, then moved by the simulator's scans up to `to`."""

    def get():
        return gw.request("GET", f"/api/v1/dispatches/{d['id']}", headers=gw.admin)[1]

    waybill = wait_for(lambda: get()["waybill_no"])
    assert gw.control("POST", f"/parcels/{waybill}/advance", {"to": to})[0] == 200
    wait_for(lambda: get()["status"] == to)


async def visit(gw: Gateway, case_no: str, name: str) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2)
            errors, external = [], []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(gw.base) else None)
            await page.goto(f"{gw.base}/track?case_no={case_no}&phone_last4=1234")
            await page.wait_for_selector("#res:not(.hidden)", timeout=10_000)
            seen = {
                "text": await page.inner_text("body"),
                "result": await page.inner_text("#res"),
                "items": await page.locator("#tl li").all_inner_texts(),
                "parcels": await page.inner_text("#parcels") if await page.is_visible("#parcels") else "",
                "overflow": await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"),
                "shot": await shot(page, name),
            }
        finally:
            await browser.close()
    assert errors == [] and external == [], (errors, external)
    assert seen["overflow"] <= 0, "the page is wider than the phone"
    assert PHONE not in seen["text"] and "王小明" not in seen["text"]
    return seen


async def test_a_case_with_stages_only(gw):
    stages(gw, "PAGE-CASE-1", STAGES[:3])
    seen = await visit(gw, "PAGE-CASE-1", "track-case-stages-only")
    assert seen["result"].startswith("审核中\n")
    assert [i.split("\n")[-1] for i in seen["items"]] == [
        "办件【登记】申请已登记：材料齐全",
        "办件【受理】申请已受理",
        "办件【审核】审核中",
    ]
    assert "证照办结后将寄出或通知领取" in seen["result"] and "运单号" not in seen["result"]


async def test_a_case_with_its_delivered_parcel_is_one_timeline_from_registration_to_delivery(gw):
    stages(gw, "PAGE-CASE-2")
    reaches(gw, submitted(gw, intake_body("PAGE-CASE-2")), "delivered")
    seen = await visit(gw, "PAGE-CASE-2", "track-case-delivered")
    items = seen["items"]
    assert "【登记】" in items[0] and "【办结】" in items[3] and "【已签收】" in items[-1], items
    assert len(items) >= 8 and all("邮件" in i for i in items[4:])
    assert "王*明" in seen["text"] and "138******34" in seen["text"]
    assert "收件人" in seen["result"] and "寄达地" in seen["result"] and "寄件人" not in seen["result"]


async def test_a_counter_pickup_shows_its_own_step(gw):
    stages(gw, "PAGE-CASE-3")
    submitted(gw, intake_body("PAGE-CASE-3", delivery_method="pickup"))
    seen = await visit(gw, "PAGE-CASE-3", "track-case-counter-pickup")
    waiting = "证照【待窗口自取】待取件：已到政务服务大厅窗口，请凭取件码领取"
    assert waiting in seen["items"][-1], seen["items"]
    assert "大厅窗口自取" in seen["text"]


async def test_both_directions_of_one_case(gw):
    stages(gw, "PAGE-CASE-4", STAGES[:2])
    inbound = intake_body(
        "PAGE-CASE-4", direction="inbound", items=[{"kind": "materials", "title": "申请材料"}]
    )
    reaches(gw, submitted(gw, inbound), "delivered")
    stages(gw, "PAGE-CASE-4", [])
    reaches(gw, submitted(gw, intake_body("PAGE-CASE-4")), "in_transit")
    seen = await visit(gw, "PAGE-CASE-4", "track-case-both-directions")
    assert "材料收取：已签收" in seen["parcels"] and "证照寄送：运输中" in seen["parcels"]
    tags = {i.split("\n")[-1][:4] for i in seen["items"]}
    assert {"办件【登", "材料收取", "证照寄送"} <= tags, seen["items"]


async def test_an_inbound_collection_alone_names_the_applicant_as_its_sender(gw):
    stages(gw, "PAGE-CASE-5", STAGES[:1])
    inbound = intake_body(
        "PAGE-CASE-5", direction="inbound", items=[{"kind": "materials", "title": "申请材料"}]
    )
    reaches(gw, submitted(gw, inbound), "in_transit")
    seen = await visit(gw, "PAGE-CASE-5", "track-case-inbound-only")
    assert "寄件人" in seen["result"] and "取件地" in seen["result"], seen["result"]
    assert "收件人" not in seen["result"] and "寄达地" not in seen["result"]
