"""A certificate sent to a village proxy point, end to end over sockets on a real `certpost serve` (the
in-process EMS simulator): staff register the point; intake to an unknown point is refused naming
`village_point_code`, to the point accepted and booked; the label (read with pdftotext) is addressed to
the point, the citizen named only masked; the simulator delivers it to the point and it waits there
(awaiting_pickup) with no staff action; the citizen's pickup code is sent, the clerk opens the point's
access link on a phone and hands the parcel over against it (a wrong code refused), every step audited;
a revoked link is refused at once; the point's own handover list prints. And in Chromium at a phone's
size, the clerk's page (screenshots)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time

import aiohttp
import pytest
from yarl import URL

from tests.e2e import crawler
from tests.e2e.console_kit import PASSWORD, add_user, browser_only, launch, shot
from tests.e2e.gateway import Gateway
from tests.fixtures.dispatches import intake_body

CODE = "VP-YT01"
POINT = {
    "code": CODE, "name": "严田村代办点", "town": "严田镇", "clerk_name": "李桂英",
    "clerk_phone": "13907960001",
    "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "严田镇",
                "detail": "严田村村委会", "postcode": "343200"},
}  # fmt: skip
CITIZEN = {"name": "欧阳小明", "phone": "13807961234"}  # lives in 洲湖镇 (intake_body's address)
HANDED_AT_POINT = "handed over at the village point (pickup code verified)"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("village-e2e")).start()
    gateway.desk = {"Authorization": "Bearer " + add_user(gateway, "desk", "dispatcher")}
    yield gateway
    gateway.stop()


def call(gw, method, path, body=None, headers=None):
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    return gw.request(method, path, data, {**(headers or gw.desk), "Content-Type": "application/json"})


def dispatch(gw, dispatch_id) -> dict:
    status, d = call(gw, "GET", f"/api/v1/dispatches/{dispatch_id}")
    assert status == 200, d
    return d


def wait_until(gw, dispatch_id, ready, timeout=60.0) -> dict:
    deadline = time.time() + timeout
    while True:
        d = dispatch(gw, dispatch_id)
        if ready(d):
            return d
        assert time.time() < deadline, d["status"]
        time.sleep(0.2)


def pdf_text(tmp_path, content: bytes, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True)
    return "".join(out.stdout.split())


def registered(gw) -> None:
    _, listed = call(gw, "GET", "/api/v1/village-points")
    if CODE not in json.dumps(listed):
        assert call(gw, "POST", "/api/v1/village-points", POINT)[0] == 201


def booked(gw, case_no: str) -> dict:
    """A parcel for the point, booked (the gateway books on intake)."""
    registered(gw)
    status, d = gw.submit(intake_body(case_no, delivery_method="village_point", village_point_code=CODE,
                                      recipient=CITIZEN))  # fmt: skip
    assert status == 201, d
    return wait_until(gw, d["id"], lambda d: d["waybill_no"])


def at_point(gw, case_no: str, d: dict | None = None) -> dict:
    """A parcel for the point, booked and delivered to the point by the simulator (`seen`: the pickup
    codes sent to the citizen before it got there)."""
    d = d or booked(gw, case_no)
    gw.seen = len(pickup_codes(gw))
    assert gw.control("POST", f"/parcels/{d['waybill_no']}/advance", {"to": "delivered"})[0] == 200
    return wait_until(gw, d["id"], lambda d: d["status"] == "awaiting_pickup")


def pickup_codes(gw) -> list[str]:
    messages = gw.control("GET", "/sms")[1]["messages"]
    return [
        m["params"]["code"] for m in messages if m["template"] == "pickup_code" and m["phone_last4"] == "1234"
    ]


async def send_code(gw, dispatch_id: str, seen: int) -> str:
    """The citizen's live pickup code: the one sent automatically when the parcel reached the point (once
    the gateway sends one), else one sent from the counter's page. `seen`: codes sent before."""
    deadline = time.time() + 3
    while time.time() < deadline:
        if len(codes := pickup_codes(gw)) > seen:
            return codes[-1]
        await asyncio.sleep(0.2)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as desk:
        await crawler.sign_in(desk, gw.base, "desk", PASSWORD)
        csrf = await crawler.csrf_of(desk, f"{gw.base}/console/pickup")
        async with desk.post(f"{gw.base}/console/pickup/{dispatch_id}/send", data={"csrf": csrf}) as r:
            assert r.status == 200 and "取件码已通过短信发送" in await r.text()
    return pickup_codes(gw)[-1]


def test_the_point_is_registered_once_with_its_fields_checked(gw):
    registered(gw)
    status, again = call(gw, "POST", "/api/v1/village-points", POINT)
    assert status == 409, again
    bad = {**POINT, "code": "VP 2", "clerk_phone": "12", "address": {**POINT["address"], "county": ""}}
    status, refused = call(gw, "POST", "/api/v1/village-points", bad)
    assert status == 422 and {e["field"] for e in refused["errors"]} == {
        "code",
        "clerk_phone",
        "address.county",
    }
    status, point = call(gw, "GET", f"/api/v1/village-points/{CODE}")
    assert status == 200 and point["name"] == "严田村代办点" and point["active"] is True
    assert call(gw, "GET", "/api/v1/village-points/NOPE")[0] == 404
    status, listed = call(gw, "GET", "/api/v1/village-points")
    assert [p["code"] for p in listed["village_points"]] == [CODE]


def test_intake_refuses_an_unknown_point_and_books_a_known_one_to_the_point(gw, tmp_path):
    registered(gw)
    status, refused = gw.submit(intake_body("VP-E2E-0", delivery_method="village_point",
                                            village_point_code="VP-NOSUCH", recipient=CITIZEN))  # fmt: skip
    assert status == 422 and [e["field"] for e in refused["errors"]] == ["village_point_code"]
    d = booked(gw, "VP-E2E-1")
    status, label = gw.request("GET", f"/api/v1/dispatches/{d['id']}/label.pdf", headers=gw.desk)
    assert status == 200 and label.startswith(b"%PDF")
    text = pdf_text(tmp_path, label, "label.pdf")
    assert "严田村代办点" in text and "严田镇" in text and "严田村村委会" in text
    assert "欧**明" in text
    assert "欧阳小明" not in text and "13807961234" not in text and "洲湖镇" not in text
    d = at_point(gw, "VP-E2E-1", d)
    moves = [(e["to_status"], e["actor"]) for e in d["events"] if e["to_status"] == "awaiting_pickup"]
    assert len(moves) == 1 and moves[0][1].startswith("carrier:")  # no staff action


def test_the_clerk_hands_the_parcel_over_against_the_citizens_code(gw):
    d = at_point(gw, "VP-E2E-2")
    code = asyncio.run(send_code(gw, d["id"], gw.seen))
    status, access = call(gw, "POST", f"/api/v1/village-points/{CODE}/access")
    assert status == 201 and access["link"].startswith("/clerk/enter?token=")
    asyncio.run(_clerk_session(gw, access, d, code))
    done = dispatch(gw, d["id"])
    assert done["status"] == "picked_up"
    trail = [(e["cause"], e["actor"]) for e in done["events"]]
    clerk = f"village:{CODE}:李桂英"
    assert ("pickup code rejected", clerk) in trail and (HANDED_AT_POINT, clerk) in trail
    assert any(e["to_status"] == "picked_up" and e["actor"] == clerk for e in done["events"])
    assert call(gw, "DELETE", f"/api/v1/village-points/{CODE}/access/{access['id']}")[0] == 204
    asyncio.run(_refused_after_revoke(gw, access))


async def _clerk_session(gw, access: dict, d: dict, code: str) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:
        async with phone.get(gw.base + access["link"]) as r:
            page = await r.text()
            assert r.status == 200 and d["id"] in page and "严田村代办点" in page
            assert "欧**明" in page and "欧阳小明" not in page and "13807961234" not in page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)[1]
        wrong = "000000" if code != "000000" else "111111"
        form = {"csrf": csrf, "id": d["id"], "code": wrong}
        async with phone.post(f"{gw.base}/clerk/release", data=form) as r:
            assert r.status == 422 and "取件码不正确" in await r.text()
        async with phone.post(f"{gw.base}/clerk/release", data={**form, "csrf": "0" * 32}) as r:
            assert r.status == 403  # a form not from the page
        async with phone.post(
            f"{gw.base}/clerk/release", data={**form, "code": code}, allow_redirects=False
        ) as r:
            assert r.status == 303 and r.headers["Location"] == "/clerk?done=1"
        async with phone.get(f"{gw.base}/clerk?done=1") as r:
            text = await r.text()
            assert "已交付" in text and d["id"] not in text
        gw.revoked_cookie = next(c.value for c in phone.cookie_jar if c.key == "certpost_clerk")


async def _refused_after_revoke(gw, access: dict) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:
        phone.cookie_jar.update_cookies({"certpost_clerk": gw.revoked_cookie}, URL(gw.base + "/clerk"))
        async with phone.get(f"{gw.base}/clerk") as r:
            assert r.status == 403 and "链接无效或已被收回" in await r.text()
        async with phone.get(gw.base + access["link"]) as r:
            assert r.status == 403


def test_a_form_of_too_many_fields_is_a_400_page_not_an_error(gw):
    """Anyone may post to the clerk's page: a body of more fields than any of its forms is answered as a
    form it cannot read (400, in Chinese), before or after the link is checked; nothing is logged as an
    unhandled error."""
    many = "&".join(f"f{n}" for n in range(11)).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for path in ("/clerk/enter", "/clerk/release"):
        status, page = gw.request("POST", path, many, form)
        assert status == 400 and "提交的内容无法识别" in page.decode(), (path, status)
    assert "unhandled error" not in (gw.dir / "serve.log").read_text()


def test_a_locked_link_stays_on_the_phone(gw):
    """Ten wrong codes lock the link for 30 minutes (429): the phone keeps it, so the clerk carries on
    once the lock ends without staff showing the link again; a revoked link is still logged out."""
    d = at_point(gw, "VP-E2E-5")
    status, access = call(gw, "POST", f"/api/v1/village-points/{CODE}/access")
    assert status == 201
    asyncio.run(_locked_out(gw, access, d))


async def _locked_out(gw, access: dict, d: dict) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:

        def kept() -> bool:
            return any(c.key == "certpost_clerk" for c in phone.cookie_jar)

        async with phone.get(gw.base + access["link"]) as r:
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', await r.text())[1]
        form = {"csrf": csrf, "id": d["id"], "code": "000000"}
        async with phone.post(f"{gw.base}/clerk/release", data={**form, "id": d["id"] + "\x00"}) as r:
            assert r.status == 404 and "该证照不在本代办点" in await r.text()  # names no parcel; not counted
        for _ in range(10):
            async with phone.post(f"{gw.base}/clerk/release", data=form) as r:
                assert r.status == 422
        async with phone.post(f"{gw.base}/clerk/release", data=form) as r:
            assert r.status == 429 and "请 30 分钟后再试" in await r.text()
            assert "certpost_clerk" not in r.cookies and kept()
        async with phone.get(f"{gw.base}/clerk") as r:
            assert r.status == 429 and "请 30 分钟后再试" in await r.text()
            assert "certpost_clerk" not in r.cookies and kept()
        assert call(gw, "DELETE", f"/api/v1/village-points/{CODE}/access/{access['id']}")[0] == 204
        async with phone.get(f"{gw.base}/clerk") as r:
            assert r.status == 403 and not kept()


def test_the_points_own_handover_list_prints_its_parcels_masked(gw, tmp_path):
    at_point(gw, "VP-E2E-3")

    async def fetch() -> bytes:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as desk:
            await crawler.sign_in(desk, gw.base, "desk", PASSWORD)
            async with desk.get(f"{gw.base}/console/villages/{CODE}/handover.pdf?hall=default") as r:
                assert r.status == 200 and r.content_type == "application/pdf"
                return await r.read()

    text = pdf_text(tmp_path, asyncio.run(fetch()), "handover.pdf")
    assert "村级代办点证照交接单" in text and "严田村代办点" in text and "VP-E2E-3" in text
    assert "欧**明" in text and "欧阳小明" not in text


@browser_only[0]
@browser_only[1]
def test_the_clerks_page_on_a_phone(gw):
    d = at_point(gw, "VP-E2E-4")
    code = asyncio.run(send_code(gw, d["id"], gw.seen))
    status, access = call(gw, "POST", f"/api/v1/village-points/{CODE}/access")
    assert status == 201
    asyncio.run(_phone(gw, access, d, code))
    assert dispatch(gw, d["id"])["status"] == "picked_up"


async def _phone(gw, access: dict, d: dict, code: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch(p)
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
            )
            page = await context.new_page()
            external: list[str] = []
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(gw.base) else None)
            await page.goto(gw.base + access["link"])
            assert "严田村代办点" in await page.title()
            parcel = page.locator(f"form.parcel:has(input[value='{d['id']}'])")
            assert "欧**明" in await parcel.inner_text() and "欧阳小明" not in await page.content()
            header = await page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
            assert header == "rgb(31, 95, 139)"  # the inline style passed the page's CSP
            assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone
            await shot(page, "40-village-clerk-waiting")
            await parcel.locator("input[name=code]").fill("000000" if code != "000000" else "111111")
            await parcel.locator("button").click()
            assert "取件码不正确" in await page.inner_text(".msg")
            await shot(page, "41-village-clerk-wrong-code")
            parcel = page.locator(f"form.parcel:has(input[value='{d['id']}'])")
            await parcel.locator("input[name=code]").fill(code)
            await parcel.locator("button").click()
            assert "已交付" in await page.inner_text(".msg")
            assert await page.locator(f"input[value='{d['id']}']").count() == 0
            await shot(page, "42-village-clerk-handed-over")
            assert not external
        finally:
            await browser.close()


HEADER = ["代办点编码", "代办点名称", "乡镇", "省", "市", "县", "详细地址", "邮编", "经办人", "经办人电话"]


def row(code: str, name: str, phone: str = "13907960002") -> list[str]:
    return [code, name, "平都镇", "江西省", "吉安市", "安福县", f"{name}村委会", "343200", "王经办", phone]


def xlsx(rows: list[list]) -> bytes:
    import io

    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["安福县村级代办点清单"])  # a title row before the header
    for n, cells in enumerate(rows, start=1):
        sheet.write_row(n, 0, cells)
    sheet.write_number(2, 9, 13907960003)  # a phone Excel keeps as a number
    book.close()
    return buffer.getvalue()


def test_a_point_list_is_imported_whole_or_refused_naming_rows_and_fields(gw):
    bad_csv = "\n".join(",".join(r) for r in [HEADER, row("IM-01", "东村"), row("IM-02", "西村", "12")])
    good = [HEADER, row("IM-03", "南村"), row("IM-04", "北村")]

    async def upload(content: bytes, filename: str) -> str:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as desk:
            await crawler.sign_in(desk, gw.base, "desk", PASSWORD)
            csrf = await crawler.csrf_of(desk, f"{gw.base}/console/villages")
            form = aiohttp.FormData()
            form.add_field("csrf", csrf)
            form.add_field("file", content, filename=filename)
            async with desk.post(f"{gw.base}/console/villages/import", data=form) as r:
                assert r.status == 200
                return await r.text()

    refused = asyncio.run(upload(bad_csv.encode("gbk"), "清单.csv"))
    assert "第 3 行 经办人电话" in refused and "整份清单未导入" in refused
    codes = [p["code"] for p in call(gw, "GET", "/api/v1/village-points")[1]["village_points"]]
    assert "IM-01" not in codes  # nothing half-imported
    done = asyncio.run(upload(xlsx(good), "清单.xlsx"))
    assert "导入完成：新增 2 个" in done
    status, point = call(gw, "GET", "/api/v1/village-points/IM-03")
    assert (
        status == 200 and point["clerk_phone"] == "13907960003" and point["address"]["detail"] == "南村村委会"
    )
    not_xlsx = asyncio.run(upload(b"PK\x03\x04 not a zip", "坏.xlsx"))
    assert "XLSX 文件异常" in not_xlsx or "不是有效的 .xlsx" in not_xlsx
