"""The citizen tracking page in headless Chromium at phone width: no horizontal overflow, Chinese text,
masked data, the delivery timeline."""

from __future__ import annotations

import os
import time

import pytest

from tests.e2e.gateway import Gateway
from tests.fixtures.dispatches import intake_body

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium not installed at /usr/bin/chromium"),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture
def delivered_parcel(tmp_path):
    gw = Gateway(tmp_path).start()
    try:
        token = gw.staff_token("desk", "dispatcher")
        status, d = gw.submit(intake_body("PAGE-1"))
        assert status == 201
        headers = {"Authorization": f"Bearer {token}"}
        deadline, waybill = time.time() + 60, None
        while not waybill and time.time() < deadline:
            waybill = gw.request("GET", f"/api/v1/dispatches/{d['id']}", headers=headers)[1]["waybill_no"]
            time.sleep(0.2)
        assert gw.control("POST", f"/parcels/{waybill}/advance", {"to": "delivered"})[0] == 200
        while gw.request("GET", f"/api/v1/dispatches/{d['id']}", headers=headers)[1]["status"] != "delivered":
            assert time.time() < deadline
            time.sleep(0.2)
        yield gw, waybill
    finally:
        gw.stop()


async def test_the_tracking_page_fits_a_phone_and_shows_the_masked_timeline(delivered_parcel, tmp_path):
    from playwright.async_api import async_playwright

    gw, waybill = delivered_parcel
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2)
            external, console, errors = [], [], []
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(gw.base) else None)
            page.on("console", lambda m: console.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"{gw.base}/track")
            assert await page.title() == "证照邮寄查询"
            await page.fill("#no", waybill)
            await page.fill("#p4", "1234")
            await page.click("#go")
            await page.wait_for_selector("#res:not(.hidden)", timeout=10_000)
            text = await page.inner_text("body")
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            await page.screenshot(path=str(tmp_path / "track-360.png"), full_page=True)
            items = await page.locator("#tl li").count()
            violations = [m for m in console if "Content Security Policy" in m]
            # An injected inline script (as an XSS would add) is refused by the page's CSP.
            await page.evaluate(
                "() => { const s = document.createElement('script');"
                " s.textContent = 'window.injected = true'; document.body.appendChild(s); }"
            )
            injected = await page.evaluate("() => window.injected === true")
        finally:
            await browser.close()
    assert violations == [] and errors == [], (violations, errors)  # the page's own code and style run
    assert not injected and any("Content Security Policy" in m for m in console), console
    assert overflow <= 0, f"page is {overflow}px wider than the phone"
    assert "已签收" in text and "物流轨迹" in text and "办结时间" in text
    assert "寄递方式\n中国邮政 EMS" in text or "寄递方式\t中国邮政 EMS" in text, text
    assert "王*明" in text and "138******34" in text
    assert "王小明" not in text and "13807961234" not in text
    assert items >= 5 and not external
    assert (tmp_path / "track-360.png").stat().st_size > 10_000


async def test_a_wrong_phone_shows_a_chinese_message_and_no_data(delivered_parcel):
    from playwright.async_api import async_playwright

    gw, waybill = delivered_parcel
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 360, "height": 740})
            await page.goto(f"{gw.base}/track?waybill_no={waybill}&phone_last4=9999")
            await page.wait_for_function("document.getElementById('err').textContent.length > 0")
            error = await page.inner_text("#err")
            hidden = await page.get_attribute("#res", "class")
        finally:
            await browser.close()
    assert "未找到邮件" in error and hidden == "hidden"
