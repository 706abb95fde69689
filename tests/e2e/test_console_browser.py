"""The back-office console in headless Chromium over a real `certpost serve`: a dispatcher books, prints,
hands over, hands a certificate out at the counter and runs a village point (its page, access link and
handover list; the clerk's own page: test_village_e2e.py); finance
uploads the statement and closes the month; a dispatcher is refused finance; lock-out; CSRF.
Every page visited is saved to screenshots/ at the project root."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.console_kit import (
    add_user,
    browser_only,
    dispatch,
    launch,
    magic,
    new_page,
    shot,
    sign_in,
    wait_for,
)
from tests.e2e.gateway import Gateway
from tests.fixtures.dispatches import intake_body
from tests.integration.finance.kit import line, statement

pytestmark = browser_only
CHINA = timezone(timedelta(hours=8))
VILLAGE = {"delivery_method": "village_point", "village_point_code": "AF-ZH-WT01"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    gateway = Gateway(tmp_path_factory.mktemp("console-e2e"), CERTPOST_AUTO_BOOK="false").start()
    gateway.tokens = {
        "desk": add_user(gateway, "desk", "dispatcher"),
        "money": add_user(gateway, "money", "finance"),
        "boss": add_user(gateway, "boss", "admin"),
    }
    towns = ["洲湖镇", "洲湖镇", "平都镇"]
    gateway.ids = []
    for n, town in enumerate(towns):
        body = intake_body(f"CON-MAIL-{n}")
        body["address"]["town"] = town
        gateway.ids.append(gateway.submit(body)[1]["id"])
    point = {
        "code": "AF-ZH-WT01", "name": "王屯村代办点", "town": "洲湖镇", "clerk_name": "李代办",
        "clerk_phone": "13907960001",
        "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "洲湖镇",
                    "detail": "王屯村村委会", "postcode": "343200"},
    }  # fmt: skip
    headers = {"Authorization": f"Bearer {gateway.tokens['desk']}", "Content-Type": "application/json"}
    body = json.dumps(point, ensure_ascii=False).encode()
    assert gateway.request("POST", "/api/v1/village-points", body, headers)[0] == 201
    gateway.village = gateway.submit(intake_body("CON-VIL-1", **VILLAGE))[1]["id"]
    gateway.pickup = gateway.submit(intake_body("CON-PICK-1", delivery_method="pickup"))[1]["id"]
    yield gateway
    gateway.stop()


def test_a_dispatcher_books_prints_and_hands_over(gw):
    import asyncio

    asyncio.run(_dispatcher_day(gw))
    token = gw.tokens["desk"]
    for i in [*gw.ids, gw.village]:
        assert dispatch(gw, token, i)["status"] == "handed_over"


async def _dispatcher_day(gw):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await new_page(browser, gw)
            await page.goto(f"{gw.base}/console/")
            assert "/console/login" in page.url
            await shot(page, "01-login")
            await sign_in(page, gw, "desk")
            assert await page.title() == "工作台 · 证照寄递管理"
            await shot(page, "02-dashboard-morning")

            # book: the "to book" tab, select all, batch booking
            await page.goto(f"{gw.base}/console/dispatches?tab=to_book")
            assert await page.locator("input.pick").count() == 4  # the pickup waits at the counter
            await page.check("#pick-all")
            assert "已选 4 件" in await page.inner_text("#picked")
            await shot(page, "03-dispatches-to-book")
            await page.click("#book-selected")
            assert "已提交 4 件下单" in await page.inner_text(".flash")
            wait_for(
                lambda: all(dispatch(gw, gw.tokens["desk"], i)["waybill_no"] for i in [*gw.ids, gw.village])
            )

            # print: the "to print" tab, select all, one PDF with every label
            await page.goto(f"{gw.base}/console/dispatches?tab=to_print")
            assert await page.locator("input.pick").count() == 4
            await page.check("#pick-all")
            async with page.expect_download() as download:
                await page.click("#print-selected")
            pdf = await (await download.value).path()
            assert magic(pdf) == b"%PDF"
            await page.wait_for_selector("#print-progress.ok")
            assert "已生成 4 张面单" in await page.inner_text("#print-progress")
            await shot(page, "04-labels-printed")

            # hand over: manifest, then confirm
            await page.goto(f"{gw.base}/console/handover")
            assert await page.locator("input.pick:checked").count() == 4
            await page.fill("#courier", "张师傅")
            async with page.expect_download() as download:
                await page.click("#print-manifest")
            assert magic(await (await download.value).path()) == b"%PDF"
            await page.wait_for_selector("#manifest-progress.ok")
            manifest_id = await page.input_value("#manifest-id")
            assert manifest_id.startswith("MF")
            await shot(page, "05-handover-manifest")
            await page.click("#confirm-handover")
            assert "已确认交接 4 件给揽收员 张师傅" in await page.inner_text(".flash")
            await shot(page, "06-handover-confirmed")

            # the dispatch page: timeline and audit trail with the manifest
            await page.goto(f"{gw.base}/console/dispatches/{gw.ids[0]}")
            text = await page.inner_text("main")
            assert "确认交接" in text and manifest_id in text and "打印面单" in text and "王小明" in text
            await shot(page, "07-dispatch-detail")

            # search by name and by case number
            await page.goto(f"{gw.base}/console/dispatches?q=CON-MAIL-1")
            assert await page.locator("tbody tr").count() == 1
            await page.goto(f"{gw.base}/console/dispatches?q=王小明")
            assert await page.locator("tbody tr").count() == 5
            await shot(page, "08-dispatch-search")

            await page.goto(f"{gw.base}/console/exceptions")
            await shot(page, "09-exceptions")
            await page.goto(f"{gw.base}/console/")
            assert "今日交寄" in await page.inner_text("main")
            await shot(page, "10-dashboard-after-handover")
            assert not page.external
        finally:
            await browser.close()


def test_self_pickup_against_the_sms_code_and_a_village_point_s_page(gw):
    import asyncio

    token = gw.tokens["desk"]
    waybill = dispatch(gw, token, gw.village)["waybill_no"]
    assert gw.control("POST", f"/parcels/{waybill}/advance", {"to": "delivered"})[0] == 200
    wait_for(lambda: dispatch(gw, token, gw.village)["status"] == "awaiting_pickup")
    asyncio.run(_counter(gw))
    assert dispatch(gw, token, gw.pickup)["status"] == "picked_up"
    pickup_causes = [e["cause"] for e in dispatch(gw, token, gw.pickup)["events"]]
    assert "pickup code sent" in pickup_causes and "pickup code rejected" in pickup_causes


async def _counter(gw):
    import asyncio

    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await new_page(browser, gw)
            await sign_in(page, gw, "desk")
            for _ in range(100):  # the code goes out by itself when the parcel reaches the counter
                sms = [
                    m
                    for m in gw.control("GET", "/sms")[1]["messages"]
                    if m["template"] == "pickup_code" and "代办点" not in str(m["params"])
                ]
                if sms:
                    break
                await asyncio.sleep(0.2)
            assert sms, "no pickup code SMS sent automatically"
            for _ in range(100):  # "已发送" once the provider's answer is recorded, an instant after the send
                causes = [e["cause"] for e in dispatch(gw, gw.tokens["desk"], gw.pickup)["events"]]
                if "pickup code sent" in causes:
                    break
                await asyncio.sleep(0.2)
            await page.goto(f"{gw.base}/console/pickup")
            assert "已发送" in await page.inner_text("main")
            await page.click('button:has-text("重发取件码")')  # a new code; the old one stops working
            assert "取件码已通过短信发送至 138****1234" in await page.inner_text(".flash")
            sms = [
                m
                for m in gw.control("GET", "/sms")[1]["messages"]
                if m["template"] == "pickup_code" and "代办点" not in str(m["params"])
            ]
            code = sms[-1]["params"]["code"]
            assert len(code) == 6 and code.isdigit()
            wrong = "000000" if code != "000000" else "111111"
            verify = f'form[action="/console/pickup/{gw.pickup}/verify"]'
            await page.fill(f"{verify} input[name=code]", wrong)
            await page.click(f"{verify} button")
            assert "取件码不正确" in await page.inner_text(".flash")
            await shot(page, "11-pickup-wrong-code")
            await page.fill(f"{verify} input[name=code]", code)
            await page.click(f"{verify} button")
            assert "取件码核验通过" in await page.inner_text(".flash")
            await shot(page, "12-pickup-done")

            await page.goto(f"{gw.base}/console/villages")
            assert "王屯村代办点" in await page.inner_text("main")
            await shot(page, "13-village-points")
            await page.click("text=王屯村代办点")
            text = await page.inner_text("main")
            assert "AF-ZH-WT01" in text and "待领取" in text and "王*明" in text and "王小明" not in text
            await page.click("text=生成新的访问链接")
            link = await page.input_value("#new-link")
            assert "/clerk/enter?token=" in link
            await shot(page, "14-village-access-link")
            await page.goto(f"{gw.base}/console/villages/AF-ZH-WT01?hall=default")
            sheet = await page.request.get(f"{gw.base}/console/villages/AF-ZH-WT01/handover.pdf?hall=default")
            assert sheet.ok and (await sheet.body()).startswith(b"%PDF")
            await page.click('button:has-text("收回")')
            assert "访问链接已收回" in await page.inner_text(".flash")
            await shot(page, "15-village-point")
        finally:
            await browser.close()


def test_finance_uploads_the_statement_and_closes_the_month(gw):
    import asyncio

    token = gw.tokens["desk"]
    waybills = [dispatch(gw, token, i)["waybill_no"] for i in gw.ids]
    month = datetime.now(CHINA).strftime("%Y-%m")
    content = statement(
        line(waybills[0], f"{month}-01"),
        line(waybills[1], f"{month}-01", total="9.50"),
        line("1199000000001", f"{month}-02"),
    )
    asyncio.run(_finance(gw, content, month))
    status, period = gw.request(
        "GET", f"/api/v1/periods/{month}", headers={"Authorization": f"Bearer {gw.tokens['money']}"}
    )
    assert status == 200 and period["status"] == "closed" and period["closed_by"] == "money"


async def _finance(gw, content: bytes, month: str):
    import asyncio

    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await new_page(browser, gw)
            await sign_in(page, gw, "money")
            assert "对账结算" in await page.inner_text("nav.side")
            assert "寄递单" not in await page.inner_text("nav.side")
            await page.goto(f"{gw.base}/console/finance")
            await shot(page, "16-finance-upload")
            await page.set_input_files(
                "#file", files=[{"name": "EMS对账单.csv", "mimeType": "text/csv", "buffer": content}]
            )
            await page.click("#upload-btn")
            for _ in range(300):  # the page's CSP forbids wait_for_function's eval
                if "/runs/" in page.url or await page.locator("#upload-text.err").count():
                    break
                await asyncio.sleep(0.1)
            assert "/console/finance/runs/" in page.url, await page.inner_text("#upload-text")
            await page.wait_for_load_state()
            text = await page.inner_text("main")
            assert "对账完成" in text and "多收" in text and "非我方邮件" in text and "SCJGJ" in text
            await shot(page, "17-finance-findings")
            await page.select_option("select[name=code]", "overcharged")
            await page.click("text=筛选")
            assert await page.locator("#findings tbody tr").count() == 1
            await shot(page, "18-finance-findings-filtered")
            async with page.expect_download() as download:
                await page.click("text=下载 Excel")
            assert magic(await (await download.value).path()) == b"PK\x03\x04"
            await page.click("#close-month")
            assert f"{month} 已结账" in await page.inner_text(".flash")
            await shot(page, "19-finance-closed")
            await page.goto(f"{gw.base}/console/finance")
            assert "本月已结账" in await page.inner_text("main")
            await page.goto(f"{gw.base}/console/")
            await shot(page, "20-dashboard-finance")
        finally:
            await browser.close()


def test_a_dispatcher_is_refused_the_finance_pages(gw):
    import asyncio

    async def run():
        from playwright.async_api import async_playwright

        async with async_playwright() as p:
            browser = await launch(p)
            try:
                page = await new_page(browser, gw)
                await sign_in(page, gw, "desk")
                assert "对账结算" not in await page.inner_text("nav.side")
                for path in ("/console/finance", "/console/admin/users"):
                    response = await page.goto(f"{gw.base}{path}")
                    assert response.status == 403
                    assert "无权访问" in await page.inner_text("main")
                await shot(page, "21-dispatcher-refused-finance")
            finally:
                await browser.close()

    asyncio.run(run())


def test_five_wrong_passwords_lock_the_name_and_the_admin_sees_it(gw):
    import asyncio

    add_user(gw, "locky", "dispatcher")

    async def run():
        from playwright.async_api import async_playwright

        async with async_playwright() as p:
            browser = await launch(p)
            try:
                page = await new_page(browser, gw)
                for n in range(5):
                    await sign_in(page, gw, "locky", "wrong-password")
                    message = await page.inner_text("#login-error")
                    assert ("用户名或密码错误" in message) if n < 4 else ("已锁定" in message)
                await sign_in(page, gw, "locky")  # the right password, but locked
                assert "已锁定" in await page.inner_text("#login-error") and "/console/login" in page.url
                await shot(page, "22-login-locked")
                await sign_in(page, gw, "boss")
                await page.goto(f"{gw.base}/console/admin/users")
                text = await page.inner_text("main")
                assert "账号锁定" in text and "locky" in text
                await shot(page, "23-admin-users")
                row = page.locator("tr", has_text="locky")
                await row.locator("input[name=password]").fill("a-new-password-1")
                await row.locator("text=重置密码").click()
                assert "锁定已解除" in await page.inner_text(".flash")
                assert (await page.input_value("#new-token")).startswith("cp_")  # shown once
                await shot(page, "23b-admin-new-token")
                await page.goto(f"{gw.base}/console/admin/system")
                assert "号段池" in await page.inner_text("main")
                await shot(page, "24-admin-system")
                other = await new_page(browser, gw)
                await sign_in(other, gw, "locky", "a-new-password-1")
                assert other.url.endswith("/console/")
            finally:
                await browser.close()

    asyncio.run(run())


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(gw):
    import asyncio

    victim = gw.submit(intake_body("CON-CSRF-1"))[1]["id"]

    async def run():
        from playwright.async_api import async_playwright

        async with async_playwright() as p:
            browser = await launch(p)
            try:
                page = await new_page(browser, gw)
                await sign_in(page, gw, "desk")
                url = f"{gw.base}/console/dispatches/{victim}/cancel"
                missing = await page.request.post(url, form={"x": "1"}, max_redirects=0)
                forged = await page.request.post(url, form={"csrf": "forged-token"}, max_redirects=0)
                header = await page.request.post(url, headers={"X-CSRF-Token": "nope"}, max_redirects=0)
                assert (missing.status, forged.status, header.status) == (403, 403, 403)
                assert "CSRF" in await missing.text()
                await page.set_content(await missing.text())
                await shot(page, "25-csrf-refused")
                login = await page.request.post(
                    f"{gw.base}/console/login", form={"name": "desk", "password": "x"}, max_redirects=0
                )
                assert login.status == 403
            finally:
                await browser.close()

    asyncio.run(run())
    assert dispatch(gw, gw.tokens["desk"], victim)["status"] == "received"
    assert json.dumps(dispatch(gw, gw.tokens["desk"], victim)["events"]).count("cancel") == 0
