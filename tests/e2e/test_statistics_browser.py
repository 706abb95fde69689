"""Statistics and supervision in headless Chromium: finance picks October, sees the charts drawn (inline
SVG, nothing fetched from elsewhere) and downloads the XLSX; the supervisor filters the breaches.
Screenshots go to screenshots/ at the project root."""

from __future__ import annotations

import io

import openpyxl
import pytest

from logistics.web.keys import DEPS
from tests.e2e.console_kit import browser_only, launch, new_page, shot, sign_in
from tests.e2e.hall import open_hall
from tests.fixtures.statistics_world import store_runs, store_scenario

pytestmark = [*browser_only, pytest.mark.timeout(180)]


async def test_statistics_and_supervision_in_a_browser(tmp_path):
    from playwright.async_api import async_playwright

    async with open_hall(tmp_path) as hall, async_playwright() as p:
        ids = await store_scenario(hall.app[DEPS].uow)
        await store_runs(hall.app[DEPS].uow)
        browser = await launch(p)
        try:
            page = await new_page(browser, hall)
            await sign_in(page, hall, "money")
            await page.click("nav.side >> text=统计分析")
            assert await page.title() == "统计分析 · 证照寄递管理"
            await page.fill("input[name=from]", "2026-10")
            await page.fill("input[name=to]", "2026-11")
            await page.click("button:has-text('查询')")
            await page.wait_for_load_state()
            assert "from=2026-10" in page.url and "to=2026-11" in page.url
            assert await page.locator("svg.chart").count() >= 5
            assert await page.locator("svg[aria-label='每月寄出件数'] rect.col").count() == 2
            bars = page.locator("svg[aria-label='按部门寄出'] text.lbl")
            assert set(await bars.all_text_contents()) == {"安福县市场监督管理局", "安福县自然资源局"}
            await shot(page, "40-statistics-range")
            async with page.expect_download() as download:
                await page.click("#stats-xlsx")
            saved = tmp_path / "stats.xlsx"
            await (await download.value).save_as(saved)
            book = openpyxl.load_workbook(io.BytesIO(saved.read_bytes()), read_only=True)
            assert list(book["按月"].values) == [("月份", "寄出件数"), ("2026-10", 2), ("2026-11", 1)]

            await page.click("nav.side >> text=智能监管")
            await page.fill("input[name=from]", "2026-10")
            await page.fill("input[name=to]", "2026-10")
            await page.select_option("select[name=stage]", "handover")
            await page.click("button:has-text('查询')")
            await page.wait_for_load_state()
            rows = page.locator("table.list tbody tr")
            assert await rows.count() == 1 and "办结→交寄" in await rows.first.inner_text()
            assert "仍未完成" in await rows.first.inner_text()
            await shot(page, "41-supervision-handover")
            assert page.external == [], page.external  # no CDN, no outside fonts or scripts
        finally:
            await browser.close()
    assert ids["D"]
