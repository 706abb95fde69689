"""Statistics and supervision over sockets: the gateway on a loopback port with October's dispatches and
reconciliation runs (tests/fixtures/statistics_world.py) in its database; the console pages, their XLSX
exports read back with openpyxl, and the JSON API, for the roles that may see them."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta

import openpyxl
import pytest

from logistics.domain.china_time import CHINA
from logistics.domain.hall import Hall
from logistics.service.views import dispatch_json
from logistics.web.keys import DEPS
from tests.e2e import crawler
from tests.e2e.hall import PASSWORD, STAFF, console_session, open_hall
from tests.fixtures.dispatches import make_dispatch
from tests.fixtures.statistics_world import store_runs, store_scenario

pytestmark = pytest.mark.timeout(120)
OCT = "from=2026-10&to=2026-10"


@pytest.fixture
async def hall(tmp_path):
    async with open_hall(tmp_path) as hall:
        hall.ids = await store_scenario(hall.app[DEPS].uow)
        await store_runs(hall.app[DEPS].uow)
        yield hall


async def _signed_in(hall, role: str):
    http = console_session()
    await crawler.sign_in(http, hall.base, STAFF[role], PASSWORD)
    return http


async def _get(http, url: str) -> tuple[int, str, bytes]:
    async with http.get(url) as r:
        return r.status, r.content_type, await r.read()


async def test_the_statistics_page_and_its_xlsx(hall):
    http = await _signed_in(hall, "finance")
    try:
        status, kind, body = await _get(http, f"{hall.base}/console/statistics?{OCT}")
        assert (status, kind) == (200, "text/html")
        html = body.decode()
        for text in (
            "统计分析",
            "安福县市场监督管理局",
            "洲湖镇",
            "VP01",
            "4.9 天",
            "6.8 天",
            "¥35.00",
            "<svg",
        ):
            assert text in html, text
        assert 'href="/console/statistics.xlsx?from=2026-10&amp;to=2026-10"' in html
        status, kind, body = await _get(http, f"{hall.base}/console/statistics.xlsx?{OCT}")
        assert (status, kind) == (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        overview = {r[0]: r[1] for r in book["概况"].iter_rows(min_row=2, values_only=True)}
        assert overview["寄出件数"] == 2 and overview["送达件数"] == 3
        assert overview["办结→送达中位数（天）"] == pytest.approx(118 / 24)
        assert overview["办结→送达90分位（天）"] == pytest.approx(162 / 24)
        assert overview["送达准时率"] == 1  # the default limits: every delivery within 5 working days
        assert overview["寄递费用（元）"] == pytest.approx(35.0)
        departments = {r[0]: r for r in book["按部门"].iter_rows(min_row=2, values_only=True)}
        assert departments["SCJGJ"][1:3] == ("安福县市场监督管理局", 2)
        assert departments["SCJGJ"][7] == 3 and departments["SCJGJ"][11] == pytest.approx(23.0)
        assert departments["GTJ"][11] == pytest.approx(12.0)
        months = list(book["按月"].iter_rows(min_row=2, values_only=True))
        assert months == [("2026-10", 2)]
        status, _, body = await _get(http, f"{hall.base}/console/statistics?from=2026-13")
        assert status == 422 and "月份必须是 YYYY-MM" in body.decode()
    finally:
        await http.close()


async def test_the_supervision_page_its_filters_and_xlsx(hall):
    http = await _signed_in(hall, "dispatcher")
    try:
        status, _, body = await _get(http, f"{hall.base}/console/supervision?{OCT}")
        html = body.decode()
        assert status == 200 and "超时清单" in html
        # the default limits (1 working day to hand over, 5 to deliver) and the real clock (after C's
        # deadline of 11-06): D late twice, C not delivered, all open; B and F within
        assert html.count(f'href="/console/dispatches/{hall.ids["D"]}"') == 2
        assert html.count(f'href="/console/dispatches/{hall.ids["C"]}"') == 1
        assert "仍未完成" in html and f"/console/dispatches/{hall.ids['B']}" not in html
        _, _, body = await _get(http, f"{hall.base}/console/supervision?{OCT}&stage=delivery")
        assert body.decode().count(f'href="/console/dispatches/{hall.ids["D"]}"') == 1
        _, _, body = await _get(http, f"{hall.base}/console/supervision?{OCT}&department=SCJGJ")
        assert "所选范围内没有超时的寄递单" in body.decode()
        status, _, body = await _get(http, f"{hall.base}/console/supervision.xlsx?{OCT}")
        assert status == 200
        rows = list(openpyxl.load_workbook(io.BytesIO(body), read_only=True)["超时清单"].values)
        assert rows[0][:3] == ("环节", "案件编号", "运单号")
        assert sorted((r[0], r[1], r[3], r[8]) for r in rows[1:]) == [
            ("办结→交寄", "D", "GTJ", "仍未完成"), ("办结→送达", "C", "GTJ", "仍未完成"),
            ("办结→送达", "D", "GTJ", "仍未完成"),
        ]  # fmt: skip
        # a number (a whole one, e.g. 700.0, reads back as an int)
        assert all(isinstance(r[11], int | float) and r[11] > 24 for r in rows[1:])
        status, _, body = await _get(http, f"{hall.base}/console/supervision?{OCT}&stage=lunch")
        assert status == 422 and "环节只能是" in body.decode()
    finally:
        await http.close()


async def test_the_json_api(hall):
    status, _, body = await _call(hall, f"/api/v1/statistics?{OCT}", "finance")
    assert status == 200
    s = json.loads(body)
    assert s["mailed"]["total"] == 2 and s["mailed"]["by_village_point"] == [
        {"key": "VP01", "name": "VP01", "count": 1}
    ]
    assert s["delivery"]["median_days"] == pytest.approx(118 / 24) and s["delivery"]["on_time_rate"] == 1
    assert s["cost"]["total_fen"] == 3500 and s["cost"]["reconciled_months"] == ["2026-10"]
    scjgj = next(d for d in s["departments"] if d["code"] == "SCJGJ")
    assert (scjgj["name"], scjgj["mailed"], scjgj["cost_fen"]) == ("安福县市场监督管理局", 2, 2300)
    status, _, body = await _call(hall, f"/api/v1/supervision/breaches?{OCT}&per_page=1", "dispatcher")
    b = json.loads(body)
    assert (status, b["total"], b["open"], b["pages"], len(b["breaches"])) == (200, 3, 3, 3, 1)
    assert b["breaches"][0]["case_no"] == "D" and b["breaches"][0]["done_at"] is None  # the most overdue
    assert b["by_department"] == [{"key": "GTJ", "name": "安福县自然资源局", "count": 3}]
    status, _, body = await _call(hall, "/api/v1/supervision/breaches?per_page=0&open=2&from=2026-1", "admin")
    assert status == 422
    assert {e["field"] for e in json.loads(body)["errors"]} == {"per_page", "open"}
    status, _, _ = await _call(hall, "/api/v1/statistics", None)
    assert status == 401


async def _call(hall, path: str, role: str | None):
    headers = hall.bearer(role) if role else {}
    async with hall.http.get(hall.base + path, headers=headers) as r:
        return r.status, r.content_type, await r.read()


async def test_the_dashboard_counts_recent_breaches_and_links_the_worst(hall):
    late = make_dispatch("LATE-1", department_name="安福县自然资源局", department_code="GTJ",
                         completed_at=datetime.now(CHINA) - timedelta(days=10))  # fmt: skip
    async with hall.app[DEPS].uow() as uow:
        assert await uow.dispatches.insert_new(late, request_hash="h", response=dispatch_json(late))
    http = await _signed_in(hall, "dispatcher")
    try:
        status, _, body = await _get(http, f"{hall.base}/console/")
    finally:
        await http.close()
    html = body.decode()
    assert status == 200 and "智能监管" in html
    # not handed over within a working day nor delivered within five: two breaches, both open; October's
    # breaches are older than last month
    card = html[html.index("智能监管") :]
    assert re.search(r'超时件数</div><div class="stat-value">2<', card)
    assert card.count(f'href="/console/dispatches/{late.id}"') == 2
    assert "/console/supervision?from=" in card


async def test_over_many_halls_the_dashboard_links_supervision_instead_of_counting(hall):
    """A province's breaches take seconds to judge at a million dispatches: staff over every hall find
    them on the supervision page; a hall's own staff see the count on their dashboard."""
    async with hall.app[DEPS].uow() as uow:
        await uow.halls.add(
            Hall(code="YX", name="永新县政务服务中心", phone="07967712345", province="江西省",
                 city="吉安市", county="永新县", address="禾川镇胜利路88号", postcode="343400"),
            now=datetime.now(CHINA),
        )  # fmt: skip
    http = await _signed_in(hall, "dispatcher")
    try:
        status, _, body = await _get(http, f"{hall.base}/console/")
    finally:
        await http.close()
    card = body.decode()[body.decode().index("智能监管") :]
    assert status == 200 and "超时件数" not in card
    assert "/console/supervision?from=" in card and "/console/province" in card
