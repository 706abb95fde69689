"""The console over HTTP (no browser): unknown filter values are a 422 naming the parameter, and a
malicious XLSX upload is a 422 naming what is wrong."""

from __future__ import annotations

import io
import re

import aiohttp
import pytest

from tests.e2e.console_kit import PASSWORD, add_user
from tests.unit.reconciliation import bad_xlsx as bad


@pytest.fixture(scope="module")
def finance_user(gw):
    add_user(gw, "zhang-finance", "finance")
    add_user(gw, "li-desk", "dispatcher")
    return gw


async def signed_in(gw, name: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{gw.base}/console/login") as r:
        token = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
    form = {"name": name, "password": PASSWORD, "csrf": token, "next": "/console/"}
    async with http.post(f"{gw.base}/console/login", data=form, allow_redirects=False) as r:
        assert r.status in (302, 303), await r.text()
    return http


async def test_unknown_tab_and_kind_are_422_naming_the_parameter(finance_user):
    gw = finance_user
    async with await signed_in(gw, "li-desk") as http:
        for path, name in (
            ("/console/dispatches?tab=bogus", "tab"),
            ("/console/exceptions?kind=bogus", "kind"),
        ):
            async with http.get(gw.base + path, headers={"X-Requested-With": "fetch"}) as r:
                assert r.status == 422
                assert [e["field"] for e in (await r.json())["errors"]] == [name]
        async with http.get(gw.base + "/console/dispatches?tab=failed") as r:
            assert r.status == 200


async def test_a_bomb_uploaded_at_the_console_is_422_naming_what_is_wrong(finance_user):
    gw = finance_user
    async with await signed_in(gw, "zhang-finance") as http:
        async with http.get(f"{gw.base}/console/finance") as r:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
        form = aiohttp.FormData()
        form.add_field("csrf", csrf)
        form.add_field("period", "2026-10")
        form.add_field("file", io.BytesIO(bad.inflating(bad.STYLES, 1536)), filename="对账单.xlsx")
        headers = {"X-Requested-With": "fetch", "X-CSRF-Token": csrf}
        async with http.post(f"{gw.base}/console/finance/upload", data=form, headers=headers) as r:
            answer = await r.json()
            assert r.status == 422, answer
        assert answer["errors"][0]["message"] == "XLSX 文件异常：xl/styles.xml 解压后超过 20 MB"
