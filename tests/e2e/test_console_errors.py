"""Errors under /console are Chinese HTML pages with their status code (404, 403, 405, 500), not the
API's JSON; the API keeps JSON. A 500 logs its stack, without the query string."""

from __future__ import annotations

import json
import logging

import pytest

from logistics.web.console.guard import page
from tests.e2e import crawler
from tests.e2e.hall import PASSWORD, console_session, open_hall

pytestmark = pytest.mark.timeout(120)


def _broken_page(app) -> None:
    @page()
    async def broken(request, ctx):
        raise RuntimeError("a bug in a console page")

    app.router.add_get("/console/broken", broken)


async def _get(http, url: str, **kw):
    async with http.request(kw.pop("method", "GET"), url, allow_redirects=False, **kw) as r:
        return r.status, r.content_type, await r.text(), r.headers


def _chinese_page(answer, status: int, words: str) -> None:
    got, content_type, text, _ = answer
    assert (got, content_type) == (status, "text/html"), answer[:3]
    assert words in text and '<html lang="zh-CN">' in text and "证照寄递管理" in text


async def test_console_errors_are_chinese_pages_with_their_status_and_the_api_keeps_json(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with open_hall(tmp_path, prepare=_broken_page) as hall:
        async with console_session() as anonymous, console_session() as money, console_session() as desk:
            await crawler.sign_in(money, hall.base, "money", PASSWORD)
            await crawler.sign_in(desk, hall.base, "desk", PASSWORD)
            base = hall.base
            _chinese_page(await _get(anonymous, f"{base}/console/no-such-page"), 404, "页面不存在")
            _chinese_page(await _get(desk, f"{base}/console/no-such-page"), 404, "页面不存在")
            _chinese_page(await _get(desk, f"{base}/console/dispatches/no-such-id"), 404, "无法完成")
            _chinese_page(await _get(money, f"{base}/console/dispatches"), 403, "无权访问")
            not_allowed = await _get(desk, f"{base}/console/", method="PUT")
            _chinese_page(not_allowed, 405, "请求方式不支持")
            assert "GET" in not_allowed[3]["Allow"]

            broken = await _get(desk, f"{base}/console/broken?q=王小明")
            _chinese_page(broken, 500, "系统出错")
            assert "a bug in a console page" not in broken[2] and "Traceback" not in broken[2]
            fetched = await _get(desk, f"{base}/console/broken", headers={"X-Requested-With": "fetch"})
            assert fetched[:2] == (500, "application/json") and "出错" in json.loads(fetched[2])["error"]

            api = await _get(anonymous, f"{base}/api/v1/no-such-thing")
            assert api[:2] == (404, "application/json")
            api = await _get(anonymous, f"{base}/api/v1/dispatches")
            assert api[:2] == (401, "application/json")
    [logged] = [r for r in caplog.records if r.name == "certpost.console" and r.levelno >= logging.ERROR][:1]
    assert logged.exc_info and logged.exc_info[0] is RuntimeError
    assert "/console/broken" in logged.getMessage() and "王小明" not in logged.getMessage()
