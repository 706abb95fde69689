"""Hostile text stored through the real flows (signed intake, the console's own forms) shows on every
console page as text, escaped: never a tag or an attribute of the page. The gateway with its EMS
simulator runs in this process; the pages are fetched over HTTP with a signed-in session."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from tests.e2e import crawler
from tests.e2e.gateway import sign
from tests.e2e.hall import PASSWORD, Parcel, console_session, open_hall
from tests.fixtures.dispatches import intake_body

pytestmark = pytest.mark.timeout(120)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
USER = "<script>alert(3)</script>"  # a user name has no spaces
COURIER = "<b onmouseover=alert(4)>张师傅</b>"
HOSTILE = (SCRIPT, IMG, USER, COURIER)


class Page(HTMLParser):
    """The tags of a page, and its text and attribute values as the browser reads them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.texts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self.texts += [v for _, v in attrs if v]

    def handle_data(self, data):
        self.texts.append(data)


def assert_shown_as_text(html: str, *expected: str, where: str) -> None:
    page = Page(html)
    for text in HOSTILE:
        assert text not in html, f"{where}: {text!r} is in the page unescaped"
    for text in expected:
        assert any(text in t for t in page.texts), f"{where}: {text!r} is not shown"
    assert not [t for t, _ in page.tags if t in ("img", "b")], f"{where}: an injected tag became markup"
    scripts = [a for t, a in page.tags if t == "script"]
    assert scripts == [{"src": "/console/static/console.js", "defer": None}], f"{where}: {scripts}"
    handlers = [(t, k) for t, a in page.tags for k in a if k.startswith("on")]
    assert not handlers, f"{where}: an injected event handler {handlers}"


async def test_hostile_text_in_dispatches_users_and_forms_shows_escaped_on_every_page(tmp_path):
    async with open_hall(tmp_path) as hall:
        address = intake_body()["address"] | {"detail": IMG, "town": SCRIPT}
        bodies = {
            "mail": intake_body(
                "ESC-MAIL",
                recipient={"name": SCRIPT, "phone": "13807961234"},
                address=address,
                matter_name=IMG,
                department_name=SCRIPT,
                items=[{"kind": "licence", "title": IMG, "number": SCRIPT, "copies": 1}],
            ),
            "village": intake_body(
                "ESC-VILLAGE",
                recipient={"name": IMG, "phone": "13807961234"},
                delivery_method="village_point",
                village_point_code="ESC-VP",
            ),
            "pickup": intake_body(
                "ESC-PICKUP", recipient={"name": SCRIPT, "phone": "13807961234"}, delivery_method="pickup"
            ),
        }
        point = {
            "code": "ESC-VP", "name": IMG, "town": SCRIPT, "clerk_name": SCRIPT, "clerk_phone": "13907960001",
            "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": SCRIPT,
                        "detail": IMG, "postcode": "343200"},
        }  # fmt: skip
        await hall.call("POST", "/api/v1/village-points", json=point, expect=(201,))
        ids = {}
        for kind, body in bodies.items():
            raw = json.dumps(body, ensure_ascii=False).encode()
            d = await hall.call("POST", "/api/v1/dispatches", data=raw, headers=sign(raw), expect=(201,))
            ids[kind] = d["id"]
        village = Parcel("village", "handed_over", ids["village"], "ESC-VILLAGE")
        await hall.book([village])
        await hall.print_labels([village])

        pages: dict[str, str] = {}
        async with console_session() as boss:
            await crawler.sign_in(boss, hall.base, "boss", PASSWORD)

            async def get(path: str, **kw) -> str:
                async with boss.get(hall.base + path, **kw) as r:
                    assert r.status == 200, (path, r.status)
                    pages[path] = await r.text()
                    return pages[path]

            async def post(path: str, form) -> str:
                csrf = await crawler.csrf_of(boss, f"{hall.base}/console/")
                async with boss.post(hall.base + path, data=[("csrf", csrf), *form]) as r:
                    assert r.status == 200, (path, r.status, await r.text())
                    pages[f"POST {path}"] = await r.text()  # the page redirected to, with its flash
                    return pages[f"POST {path}"]

            await post(
                "/console/admin/users", [("name", USER), ("role", "dispatcher"), ("password", PASSWORD)]
            )
            await post("/console/handover/confirm", [("ids", ids["village"]), ("courier", COURIER)])
            for path in (
                "/console/",
                "/console/dispatches",
                f"/console/dispatches?q={quote(SCRIPT)}",
                *(f"/console/dispatches/{i}" for i in ids.values()),
                "/console/pickup",
                "/console/villages",
                "/console/villages/ESC-VP?hall=default",
                "/console/exceptions",
                "/console/admin/users",
            ):
                await get(path)
        async with console_session() as them:  # the hostile user's own name in the page header
            await crawler.sign_in(them, hall.base, USER, PASSWORD)
            async with them.get(f"{hall.base}/console/") as r:
                pages["their home"] = await r.text()
        async with console_session() as anyone:  # a refused sign-in shows the name typed back
            token = crawler.parse(await (await anyone.get(f"{hall.base}/console/login")).text()).inputs[
                "csrf"
            ]
            form = {"csrf": token, "name": IMG, "password": "wrong-password", "next": ""}
            async with anyone.post(f"{hall.base}/console/login", data=form) as r:
                assert r.status == 401
                pages["refused sign-in"] = await r.text()

    shown = {  # what each page must show (as text), besides never showing any of it as markup
        "POST /console/admin/users": [f"已创建用户 {USER}", USER],
        "POST /console/handover/confirm": [f"已确认交接 1 件给揽收员 {COURIER}"],
        "/console/dispatches": [SCRIPT, IMG],
        f"/console/dispatches?q={quote(SCRIPT)}": [SCRIPT],
        f"/console/dispatches/{ids['mail']}": [SCRIPT, IMG, f"{SCRIPT}  13807961234"],
        f"/console/dispatches/{ids['village']}": [IMG, f"揽收人：{COURIER}"],
        f"/console/dispatches/{ids['pickup']}": [SCRIPT],
        "/console/pickup": [SCRIPT, f"{'ESC-PICKUP'} 的取件码"],
        "/console/villages": [IMG],
        "/console/villages/ESC-VP?hall=default": [f"村级代办点 {IMG}", SCRIPT, f"{IMG}（ESC-VP）"],
        "/console/admin/users": [
            USER,
            f"{USER} 的新密码",
            f"为 {USER} 签发新的 API 令牌？旧令牌将立即失效。",
        ],
        "their home": [USER],
        "refused sign-in": [IMG],
    }
    for where, html in pages.items():
        assert_shown_as_text(html, *shown.get(where, []), where=where)
