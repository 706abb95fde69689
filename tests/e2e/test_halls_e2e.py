"""Halls through `certpost` itself: the commands refuse bad input with one line (exit 2); two halls in one
gateway stay apart on the console (header, detail pages and their POST actions, the province view) and
in manifest numbers."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.console_kit import PASSWORD
from tests.e2e.gateway import Gateway, sign
from tests.fixtures.dispatches import intake_body

AF = {"phone": "07967654321", "province": "江西省", "city": "吉安市", "county": "安福县",
      "address": "平都镇城东大道1号", "postcode": "343200"}  # fmt: skip
YX = {"phone": "07967712345", "province": "江西省", "city": "吉安市", "county": "永新县",
      "address": "禾川镇胜利路88号", "postcode": "343400"}  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]
CLIENTS = {"c-af": {"secret": "af-secret-0123456789", "hall": "AF"},
           "c-yx": {"secret": "yx-secret-0123456789", "hall": "YX"}}  # fmt: skip


def one_line_refusal(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def gw(tmp_path):
    gateway = Gateway(tmp_path, CERTPOST_CLIENTS=json.dumps(CLIENTS))
    for code, name, origin in (("AF", "安福县政务服务中心", AF), ("YX", "永新县政务服务中心", YX)):
        result = gateway.cli("halls", "add", code, "--name", name, "--origin", json.dumps(origin))
        assert result.returncode == 0, result.stderr
    yield gateway
    gateway.stop()


def test_the_hall_commands_refuse_bad_input_in_one_line(gw):
    origin = json.dumps(AF)
    assert "taken" in one_line_refusal(gw.cli("halls", "add", "AF", "--name", "再来", "--origin", origin))
    assert "code" in one_line_refusal(gw.cli("halls", "add", "安福", "--name", "x", "--origin", origin))
    bad_postcode = json.dumps({**AF, "postcode": "3432"})
    assert "origin.postcode" in one_line_refusal(
        gw.cli("halls", "add", "JA", "--name", "x", "--origin", bad_postcode)
    )
    missing = json.dumps({k: v for k, v in AF.items() if k != "county"})
    assert "origin.county" in one_line_refusal(
        gw.cli("halls", "add", "JA", "--name", "x", "--origin", missing)
    )
    assert "JSON" in one_line_refusal(gw.cli("halls", "add", "JA", "--name", "x", "--origin", "{name:"))
    assert "ZZ" in one_line_refusal(gw.cli("users", "add", "nobody", "--role", "dispatcher", "--hall", "ZZ"))
    listed = gw.cli("halls", "list")
    assert listed.returncode == 0
    assert [line.split("\t")[0] for line in listed.stdout.strip().splitlines()] == ["default", "AF", "YX"]
    tariff = gw.dir / "yx-tariff.toml"
    tariff.write_text((ROOT / "reconciliation" / "default_tariff.toml").read_text(encoding="utf-8"))
    assert gw.cli("halls", "tariff", "YX", str(tariff), "--from", "2026-10").returncode == 0
    assert "period" in one_line_refusal(gw.cli("halls", "tariff", "YX", str(tariff), "--from", "2026-13"))
    assert "ZZ" in one_line_refusal(gw.cli("halls", "tariff", "ZZ", str(tariff), "--from", "2026-10"))
    broken = gw.dir / "broken.toml"
    broken.write_text("[[versions]]\nweight_step_g = 'heavy'\n", encoding="utf-8")
    one_line_refusal(gw.cli("halls", "tariff", "YX", str(broken), "--from", "2026-10"))
    statement = gw.dir / "statement.csv"
    statement.write_text("waybill_no\n", encoding="utf-8")
    refused = gw.cli("reconcile", str(statement), "--period", "2026-10", "--hall", "ZZ")
    assert "ZZ" in one_line_refusal(refused)


async def _console(gw: Gateway, name: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with session.get(gw.base + "/console/login") as r:
        token = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
    form = {"csrf": token, "name": name, "password": PASSWORD, "next": ""}
    async with session.post(gw.base + "/console/login", data=form, allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    return session


async def _csrf(session, gw) -> str:
    async with session.get(gw.base + "/console/") as r:
        return re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)


def _booked(gw: Gateway, token: str, dispatch_id: str, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, d = gw.request(
            "GET", f"/api/v1/dispatches/{dispatch_id}", headers={"Authorization": f"Bearer {token}"}
        )
        if status == 200 and d.get("waybill_no"):
            return d
        time.sleep(0.3)
    raise TimeoutError(f"{dispatch_id} not booked")


async def test_two_halls_stay_apart_on_the_console_and_in_manifest_numbers(gw):
    for name, extra in (("af-desk", ["--hall", "AF"]), ("province-admin", [])):
        role = "dispatcher" if extra else "admin"
        cmd = ["users", "add", name, "--role", role, *extra, "--password", PASSWORD]
        assert gw.cli(*cmd).returncode == 0
    admin_token = gw.staff_token("api-admin", "admin")
    af_token = gw.cli("users", "add", "af-api", "--role", "dispatcher", "--hall", "AF").stdout.split()[-1]
    gw.start()
    ids = {}
    for hall, client in (("AF", "c-af"), ("YX", "c-yx")):
        body = json.dumps(intake_body(f"{hall}-E2E-1"), ensure_ascii=False).encode()
        status, d = gw.request(
            "POST", "/api/v1/dispatches", body, sign(body, secret=CLIENTS[client]["secret"], client=client)
        )
        assert status == 201 and d["hall"] == hall, d
        ids[hall] = _booked(gw, admin_token, d["id"])["id"]

    desk = await _console(gw, "af-desk")
    admin = await _console(gw, "province-admin")
    try:
        async with desk.get(gw.base + "/console/") as r:
            assert "安福县政务服务中心" in await r.text()
        for path in (f"/console/dispatches/{ids['YX']}", f"/console/dispatches/{ids['YX']}/label.pdf"):
            async with desk.get(gw.base + path) as r:
                assert r.status == 404, path
        async with desk.get(gw.base + f"/console/dispatches/{ids['AF']}") as r:
            assert r.status == 200
        csrf = await _csrf(desk, gw)
        for action in ("cancel", "book"):
            path = f"/console/dispatches/{ids['YX']}/{action}"
            async with desk.post(gw.base + path, data={"csrf": csrf}, allow_redirects=False) as r:
                assert r.status == 404, path
        async with desk.get(gw.base + "/console/province") as r:
            page = await r.text()
            assert "安福县政务服务中心" in page and "永新县政务服务中心" not in page
        async with admin.get(gw.base + "/console/province") as r:
            page = await r.text()
            assert "全省概览" in page and "安福县政务服务中心" in page and "永新县政务服务中心" in page
        async with admin.get(gw.base + "/console/dispatches?hall=YX") as r:
            page = await r.text()
            assert "共 1 件" in page
    finally:
        await desk.close()
        await admin.close()
    assert (
        gw.request(
            "POST", f"/api/v1/dispatches/{ids['YX']}/cancel", headers={"Authorization": f"Bearer {af_token}"}
        )[0]
        == 404
    )
    admin = {"Authorization": f"Bearer {admin_token}"}
    for path in (
        "/api/v1/dispatches?hall=%00",
        "/api/v1/dispatches?hall=A%0A",
        "/api/v1/reconciliations?hall=%00",
    ):
        assert gw.request("GET", path, headers=admin)[0] == 422, path  # never the database's error
    status, listed = gw.request("GET", "/api/v1/dispatches?hall=YX", headers=admin)
    assert [d["id"] for d in listed["dispatches"]] == [ids["YX"]]
    headers = {"Authorization": f"Bearer {af_token}", "Content-Type": "application/json"}
    req = aiohttp.ClientSession()
    try:
        async with req.post(gw.base + "/api/v1/manifests", json={"ids": [ids["AF"]]}, headers=headers) as r:
            assert r.status == 200
            assert r.headers["X-Manifest-Id"].split("-")[1] == "AF"
    finally:
        await req.close()
