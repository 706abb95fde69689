"""`/api/docs` in headless Chromium: it renders offline (no request leaves the server, no CSP violation),
lists every operation of /openapi.json with its Chinese and English summary, and fits the screen.
Screenshots go to screenshots/ at the project root."""

from __future__ import annotations

from tests.e2e.console_kit import SCREENSHOTS, browser_only, launch
from tests.e2e.gateway import Gateway

pytestmark = browser_only


async def test_the_api_docs_page_reads_offline_and_lists_every_operation(tmp_path):
    from playwright.async_api import async_playwright

    gw = Gateway(tmp_path, CERTPOST_AUTO_BOOK="false").start()
    try:
        doc = gw.request("GET", "/openapi.json")[1]
        async with async_playwright() as p:
            browser = await launch(p)
            try:
                texts, overflow = {}, {}
                for width in (1280, 390):
                    page = await browser.new_page(viewport={"width": width, "height": 900})
                    elsewhere, console, errors = [], [], []
                    page.on("request", lambda r: elsewhere.append(r.url))  # noqa: B023
                    page.on("console", lambda m: console.append(m.text))  # noqa: B023
                    page.on("pageerror", lambda e: errors.append(str(e)))  # noqa: B023
                    await page.goto(f"{gw.base}/api/docs")
                    assert await page.title() == "certpost 接口文档 API"
                    texts[width] = await page.inner_text("body")
                    overflow[width] = await page.evaluate(
                        "document.documentElement.scrollWidth - window.innerWidth"
                    )
                    SCREENSHOTS.mkdir(exist_ok=True)
                    await page.screenshot(
                        path=str(SCREENSHOTS / f"api-docs-{width}.png"), full_page=width == 390
                    )
                    elsewhere = [u for u in elsewhere if not u.startswith(gw.base)]
                    assert elsewhere == [] and errors == [] and console == [], (elsewhere, errors, console)
                    await page.close()
            finally:
                await browser.close()
    finally:
        gw.stop()
    text = texts[1280]
    for path, item in doc["paths"].items():
        for op in item.values():
            assert path in text and op["x-summary-zh"] in text and op["x-summary-en"] in text
    assert "认证与签名" in text and "HMAC-SHA256" in text and "CERTPOST_CALLBACK_URL" in text
    assert overflow[1280] <= 0 and overflow[390] <= 0, overflow
