"""Isolation between halls, route by route: staff of another hall (永新县, YX) walk every route the gateway
has — every API route and every console page and action — with the ids of the default hall's dispatches in
every status, its reconciliation run, its users and its village point. Each answer must be the answer for
an id that never existed (404, or the same refusal), must not carry the default hall's data, and must change
nothing. The routes are read from the running app's router: a new route is walked without anyone adding it
here; one whose path parameter or body is of a kind this table does not know fails the test until it is
classified."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime

import aiohttp
import pytest

from logistics.domain.china_time import CHINA
from logistics.domain.hall import Hall as HallOrigin
from logistics.service import users
from logistics.web.keys import DEPS
from tests.e2e import crawler
from tests.e2e.gateway import sign
from tests.e2e.hall import PASSWORD, POINT, STAGED_CASE, VILLAGE, console_session, open_hall
from tests.fixtures.dispatches import intake_body
from tests.integration.finance.kit import line, statement

pytestmark = pytest.mark.timeout(300)

YX = HallOrigin(
    code="YX", name="永新县政务服务中心", phone="07967712345", province="江西省", city="吉安市",
    county="永新县", address="禾川镇胜利路88号", postcode="343400",
)  # fmt: skip
YX_CLIENT, YX_SECRET = "c-yx", "isolation-yx-secret-0123456789"
UNKNOWN = {
    "dispatch": str(uuid.uuid4()), "run": str(uuid.uuid4()), "user": "987654321", "job": "987654321",
    "access": "987654321", "case": "NEVER-A-CASE-0001",
}  # fmt: skip
UNKNOWN_VILLAGE = "ZZ-NO-WHERE01"

NOT_HALL_OWNED = {
    # public or the carrier's: no hall's data behind them
    ("GET", "/track"), ("GET", "/api/v1/track"), ("GET", "/healthz"), ("GET", "/openapi.json"),
    ("GET", "/api/docs"), ("POST", "/api/v1/carriers/ems/push"), ("GET", "/console/login"),
    ("POST", "/console/login"), ("POST", "/console/logout"),
    # intake is the signed client's; a bound client's hall is checked below
    ("POST", "/api/v1/dispatches"),
    # the village clerk's page: no staff account, a point's own access link (tests/e2e/test_village_e2e.py)
    ("GET", "/clerk"), ("GET", "/clerk/enter"), ("POST", "/clerk/enter"), ("POST", "/clerk/release"),
    ("POST", "/clerk/leave"),
}  # fmt: skip
CHECKED_APART = {
    # a statement naming the default hall's waybills, uploaded by YX's finance (`statement_stays_in_its_hall`)
    ("POST", "/api/v1/reconciliations"), ("POST", "/console/finance/upload"),
    # a user created by YX's admin is YX's (`users_stay_in_their_hall`)
    ("POST", "/console/admin/users"),
    # a village point registered or imported by YX is YX's, whatever code it has (`points_stay_in_their_hall`)
    ("POST", "/api/v1/village-points"), ("POST", "/console/villages"), ("POST", "/console/villages/import"),
}  # fmt: skip


def month() -> str:
    return datetime.now(CHINA).strftime("%Y-%m")


def routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every route the gateway serves, its own (not the mounted simulator's)."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path")
        if route.method == "HEAD" or path is None or path.startswith(("/sandbox", "/console/static")):
            continue
        found.append((route.method, path))
    assert len(found) > 50, found  # the walk reads the real router
    return found


class Walk:
    """One YX user walking the routes, and the default hall's ids to walk them with."""

    def __init__(self, hall, desk: aiohttp.ClientSession, yx_token: str):
        self.hall, self.desk, self.yx_token = hall, desk, yx_token
        parcels = hall.parcels
        self.ids = [p.id for p in parcels]
        self.secrets = {p.id for p in parcels} | {p.case_no for p in parcels}
        self.secrets |= {p.waybill_no for p in parcels if p.waybill_no}
        self.by_status = {p.status: p.id for p in parcels}
        self.misses: list[str] = []
        self.walked: list[str] = []

    # ---- values for path parameters and bodies: the other hall's, and ones that never existed

    def dispatch_for(self, path: str) -> str:
        if "/pickup/" in path:
            return self.by_status["awaiting_pickup"]
        if path.endswith(("/book", "/cancel")):
            return self.by_status["received"]
        return self.by_status["booked"]

    def fill(self, method: str, path: str, other: dict, unknown: bool) -> str:
        def value(match: re.Match) -> str:
            name = match.group(1)
            if name == "fmt":
                return "csv"
            if name == "period":
                return month()
            if name == "code":
                return UNKNOWN_VILLAGE if unknown else VILLAGE
            kind = kind_of(path)
            return UNKNOWN[kind] if unknown else other[kind]

        return re.sub(r"\{(\w+)\}", value, path)

    # ---- the calls

    async def api(self, method: str, path: str, body) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.yx_token}"}
        kw = {"json": body} if body is not None else {}
        if method in ("POST", "PATCH") and body is None:
            kw = {"json": {}}
        async with self.hall.http.request(method, self.hall.base + path, headers=headers, **kw) as r:
            return r.status, await r.read()

    async def console(self, method: str, path: str, form) -> tuple[int, bytes]:
        url = self.hall.base + path
        if method == "GET":
            async with self.desk.get(url, allow_redirects=False) as r:
                return r.status, await r.read()
        csrf = await crawler.csrf_of(self.desk, f"{self.hall.base}/console/")
        data = [("csrf", csrf), *(form or [])]
        async with self.desk.post(url, data=data, allow_redirects=False) as r:
            return r.status, await r.read()

    async def call(self, method: str, path: str, payload) -> tuple[int, bytes]:
        if path.startswith("/console"):
            return await self.console(method, path, payload)
        return await self.api(method, path, payload)

    def leaked(self, body: bytes) -> list[str]:
        text = body.decode("utf-8", "replace")
        return sorted(s for s in self.secrets if s in text)


def kind_of(path: str) -> str:
    if "/jobs/" in path:
        return "job"
    if "/reconciliations/" in path or "/finance/runs/" in path:
        return "run"
    if "/admin/users/" in path:
        return "user"
    if "/access/" in path:
        return "access"
    if "/dispatches/" in path or "/pickup/" in path:
        return "dispatch"
    if "/cases/" in path:
        return "case"
    raise AssertionError(f"{path}: a path parameter of a kind the isolation walk does not know; classify it")


def bodies(method: str, path: str, ids: list[str], manifest_id: str) -> object:
    """The body of a route that names ids in its body (None: the route takes none that are hall-owned)."""
    batch = {
        "/api/v1/labels": {"ids": ids, "size": "100x150"},
        "/api/v1/manifests": {"ids": ids, "courier": "邮政揽投员"},
        "/api/v1/manifests/confirm": {"ids": ids, "courier": "邮政揽投员", "manifest_id": manifest_id},
        "/console/labels": [*(("ids", i) for i in ids), ("size", "100x150")],
        "/console/manifests": [*(("ids", i) for i in ids), ("courier", "邮政揽投员")],
        "/console/handover/confirm": [*(("ids", i) for i in ids), ("courier", "邮政揽投员"),
                                      ("manifest_id", manifest_id)],
        "/console/dispatches/book": [*(("ids", i) for i in ids)],
        "/console/pickup/{id}/verify": [("code", "123456")],
        "/api/v1/dispatches/{id}": {"recipient": {"name": "改名", "phone": "13912345678"}},
    }  # fmt: skip
    if path in batch:
        return batch[path]
    if method == "GET" or "{" in path:
        return None
    raise AssertionError(
        f"{method} {path}: a route with a body the isolation walk does not know; classify it"
    )


async def add_yx(hall) -> dict[str, str]:
    """Hall YX with its own dispatcher, finance and admin, and three dispatches of its own."""
    deps = hall.app[DEPS]
    async with deps.uow() as uow:
        await uow.halls.add(YX, now=datetime.now(CHINA))
    now = datetime.now(CHINA)
    tokens = {}
    for role in ("dispatcher", "finance", "admin"):
        tokens[role] = await users.create(
            deps.uow(), f"yx-{role}", role, password=PASSWORD, actor="test", now=now, hall="YX"
        )
    tokens["default-dispatcher"] = await users.create(
        deps.uow(), "af-desk", "dispatcher", password=PASSWORD, actor="test", now=now, hall="default"
    )
    for i in range(3):
        raw = json.dumps(intake_body(f"YX-OWN-{i}"), ensure_ascii=False).encode()
        headers = sign(raw, secret=YX_SECRET, client=YX_CLIENT)
        await hall.call("POST", "/api/v1/dispatches", data=raw, headers=headers, expect=(201,))
    return tokens


async def test_every_route_answers_another_hall_s_ids_as_if_they_never_existed(tmp_path):
    bound = {YX_CLIENT: {"secret": YX_SECRET, "hall": "YX"}}
    async with open_hall(tmp_path, clients=bound) as hall:
        parcels = await hall.populate()
        tokens = await add_yx(hall)
        before = {p.id: (await hall.dispatch(p.id))["status"] for p in parcels}
        runs = await hall.call("GET", "/api/v1/reconciliations", role="finance")
        run_id = runs["reconciliations"][0]["id"]
        async with hall.app[DEPS].uow(read_only=True) as uow:
            default_user = next(u for u in await uow.users.list_all() if u["name"] == "af-desk")
        link = await hall.call("POST", f"/api/v1/village-points/{VILLAGE}/access", expect=(201,))
        other = {
            "dispatch": None, "run": run_id, "user": str(default_user["id"]), "job": "1",
            "access": str(link["id"]), "case": STAGED_CASE,
        }  # fmt: skip
        sessions = {}
        try:
            for role in ("dispatcher", "finance", "admin"):
                sessions[role] = console_session()
                await crawler.sign_in(sessions[role], hall.base, f"yx-{role}", PASSWORD)
            for role in ("dispatcher", "finance", "admin"):
                walk = Walk(hall, sessions[role], tokens[role])
                await walk_all(walk, hall, other)
                assert not walk.misses, f"YX {role}:\n" + "\n".join(walk.misses)
        finally:
            for s in sessions.values():
                await s.close()
        await statement_stays_in_its_hall(hall, tokens["finance"], parcels)
        await users_stay_in_their_hall(hall, tokens["admin"])
        await points_stay_in_their_hall(hall, tokens["dispatcher"], link["token"])
        await cases_stay_with_their_client(hall)
        after = {p.id: (await hall.dispatch(p.id))["status"] for p in parcels}
        assert after == before, "another hall's staff changed the default hall's dispatches"
        # the controls: the default hall's own dispatcher reads what YX could not
        own = {"Authorization": f"Bearer {tokens['default-dispatcher']}"}
        for p in parcels[:5]:
            await hall.call("GET", f"/api/v1/dispatches/{p.id}", headers=own)
        yx_own = await hall.call(
            "GET", "/api/v1/dispatches", headers={"Authorization": f"Bearer {tokens['dispatcher']}"}
        )
        listed = yx_own["dispatches"] if isinstance(yx_own, dict) else yx_own
        assert sorted(d["case_no"] for d in listed) == ["YX-OWN-0", "YX-OWN-1", "YX-OWN-2"]


async def walk_all(walk: Walk, hall, other: dict) -> None:
    manifest_id = "MF-NOT-YOURS"
    for method, path in routes(hall.app):
        if (method, path) in NOT_HALL_OWNED | CHECKED_APART:
            continue
        ids = [walk.by_status[s] for s in ("received", "booked", "label_printed")]
        body = bodies(method, path, ids, manifest_id)
        unknown_body = bodies(method, path, [UNKNOWN["dispatch"]], manifest_id)
        values = {**other, "dispatch": walk.dispatch_for(path)}
        theirs = walk.fill(method, path, values, unknown=False)
        never = walk.fill(method, path, values, unknown=True)
        status, answer = await walk.call(method, theirs, body)
        walk.walked.append(f"{method} {theirs}")
        if status >= 500:
            walk.misses.append(f"{method} {theirs} → {status}")
            continue
        leaks = walk.leaked(answer)
        if leaks:
            walk.misses.append(f"{method} {theirs} → {status} shows the default hall's {leaks[:3]}")
        if "{" in path or body is not None:
            unknown_status, _ = await walk.call(method, never, unknown_body)
            if status != unknown_status:
                walk.misses.append(
                    f"{method} {theirs} → {status}, but for an id that never existed → {unknown_status}"
                )


async def cases_stay_with_their_client(hall) -> None:
    """YX's bound client posting a stage under the default hall's case number makes a case of its own:
    the default hall's case, as its citizen sees it, is unchanged, and the answer tells YX nothing."""
    track = f"/api/v1/track?case_no={STAGED_CASE}&phone_last4=1234"
    before = await hall.call("GET", track, headers={})
    event = {"stage": "rejected", "at": "2026-11-09T09:00:00+08:00", "applicant_phone": "13807961234",
             "matter_name": "冒名事项", "note": "不予受理"}  # fmt: skip
    raw = json.dumps(event, ensure_ascii=False).encode()
    path = f"/api/v1/cases/{STAGED_CASE}/events"
    answer = await hall.call("POST", path, data=raw, headers=sign(raw, secret=YX_SECRET, client=YX_CLIENT),
                             expect=(201,))  # fmt: skip
    assert answer["matter_name"] == "冒名事项" and "registered" not in json.dumps(answer)
    assert await hall.call("GET", track, headers={}) == before
    assert [e["stage"] for e in before["case_events"]] == ["registered", "accepted", "reviewing", "completed"]
    assert sorted(p["direction"] for p in before["parcels"]) == ["inbound", "outbound"]


async def statement_stays_in_its_hall(hall, yx_finance: str, parcels) -> None:
    """YX's finance reconciles a statement that bills the default hall's parcels: none of them is matched
    (each line is a waybill YX never sent), and the run shows none of the default hall's cases."""
    shipped = [p for p in parcels if p.waybill_no][:3]
    form = aiohttp.FormData()
    form.add_field("period", month())
    lines = [line(p.waybill_no, f"{month()}-03") for p in shipped]
    form.add_field("file", statement(*lines), filename="EMS对账单.csv", content_type="text/csv")
    headers = {"Authorization": f"Bearer {yx_finance}"}
    run = await hall.call("POST", "/api/v1/reconciliations", data=form, headers=headers, expect=(201,))
    text = json.dumps(run, ensure_ascii=False)
    for p in shipped:
        assert p.id not in text and p.case_no not in text, "YX's run matched the default hall's parcel"
    report = await hall.call("GET", f"/api/v1/reconciliations/{run['id']}/report.csv", headers=headers)
    assert not any(p.case_no.encode() in report for p in parcels), "YX's report names a default case"


async def users_stay_in_their_hall(hall, yx_admin: str) -> None:
    """A user created by YX's admin works for YX, whatever hall the form names."""
    session = console_session()
    try:
        await crawler.sign_in(session, hall.base, "yx-admin", PASSWORD)
        csrf = await crawler.csrf_of(session, f"{hall.base}/console/admin/users")
        form = {"csrf": csrf, "name": "yx-made", "role": "dispatcher", "hall": "default"}
        async with session.post(f"{hall.base}/console/admin/users", data=form) as r:
            assert r.status < 500, await r.text()
    finally:
        await session.close()
    async with hall.app[DEPS].uow(read_only=True) as uow:
        made = [u for u in await uow.users.list_all() if u["name"] == "yx-made"]
    assert all(u.get("hall") == "YX" for u in made), made


async def points_stay_in_their_hall(hall, yx_dispatcher: str, default_link: str) -> None:
    """YX lists none of the default hall's points; registering the same code makes YX's own point and
    leaves the default hall's as it was; the default hall's clerk link still works and shows its parcels."""
    yx = {"Authorization": f"Bearer {yx_dispatcher}"}
    listed = await hall.call("GET", "/api/v1/village-points", headers=yx)
    assert VILLAGE not in json.dumps(listed), listed
    await hall.call("GET", "/api/v1/village-points?hall=default", headers=yx, expect=(404,))
    mine = {**POINT, "name": "永新的同号代办点"}
    made = await hall.call("POST", "/api/v1/village-points", json=mine, headers=yx, expect=(201,))
    assert made["hall"] == "YX"
    theirs = await hall.call("GET", f"/api/v1/village-points/{VILLAGE}")
    assert (theirs["hall"], theirs["name"]) == ("default", POINT["name"])
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as phone:
        async with phone.get(f"{hall.base}/clerk/enter?token={default_link}") as r:
            assert r.status == 200 and POINT["name"] in await r.text()
