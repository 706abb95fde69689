"""Every route of the gateway while its PostgreSQL is away (a TCP proxy in front of it is cut): each
answers 503 with Retry-After, or answers without the database at all; never a 500. Routes are walked
from the router, so a new route is covered without anyone adding it here."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys

import aiohttp
import pytest
from aiohttp import web

from logistics import bootstrap
from logistics.config import Settings
from tests.conftest import PG_URL, _reset_postgres
from tests.e2e.gateway import CLIENT, SECRET, free_port, sign
from tests.fixtures.db_proxy import DbProxy
from tests.fixtures.dispatches import intake_body

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="CERTPOST_TEST_PG_URL not set (.ci/run starts PostgreSQL)"),
]
PASSWORD = "hall-desk-2026"
CASE_EVENT = {"stage": "registered", "at": "2026-11-01T09:00:00+08:00", "applicant_phone": "13807961234",
              "matter_name": "食品经营许可证核发"}  # fmt: skip
NO_DATABASE = {  # answered from memory: the same answer with the database away
    ("GET", "/openapi.json"), ("GET", "/api/docs"), ("GET", "/track"), ("GET", "/console/login"),
    ("GET", "/console/static"), ("GET", "/console"),
    ("POST", "/console/login"),  # refused before the database: no form, so no CSRF token
    # the village clerk's page without an access link: its entry form, or refused before the database
    ("GET", "/clerk"), ("GET", "/clerk/enter"), ("POST", "/clerk/enter"), ("POST", "/clerk/release"),
    ("POST", "/clerk/leave"),
}  # fmt: skip


def _add_admin(url: str) -> str:
    cmd = [
        sys.executable,
        "-m",
        "logistics.cli",
        "users",
        "add",
        "ops-admin",
        "--role",
        "admin",
        "--password-stdin",
    ]
    env = {**os.environ, "CERTPOST_DATABASE_URL": url}
    result = subprocess.run(cmd, input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _routes(app: web.Application) -> list[tuple[str, str]]:
    found = []
    for route in app.router.routes():
        if route.resource is None or route.method in ("HEAD", "*"):
            continue
        path = route.resource.canonical
        if path.startswith("/sandbox"):
            continue
        found.append((route.method, path))
    return sorted(set(found))


def _fill(path: str, dispatch_id: str) -> str:
    values = {"id": dispatch_id, "fmt": "json"}
    return re.sub(r"\{([^}:]+)[^}]*\}", lambda m: values.get(m.group(1), "x"), path)


async def test_every_route_answers_503_or_without_the_database_while_it_is_away(tmp_path):
    await _reset_postgres(PG_URL)
    proxy = await DbProxy.before(PG_URL)
    settings = Settings(database_url=proxy.url(PG_URL), clients={CLIENT: SECRET})
    app = bootstrap.app(settings, run_workers=False)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    jar = aiohttp.CookieJar(unsafe=True)
    try:
        token = await asyncio.to_thread(_add_admin, PG_URL)
        auth = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookie_jar=jar) as http:
            body = json.dumps(intake_body("ROUTES-0001"), ensure_ascii=False).encode()
            async with http.post("/api/v1/dispatches", data=body, headers=sign(body)) as r:
                assert r.status == 201
                dispatch_id = (await r.json())["id"]
            async with http.get("/console/login") as r:
                csrf = jar.filter_cookies(r.url)["certpost_login"].value
            form = {"name": "ops-admin", "password": PASSWORD, "csrf": csrf}
            async with http.post("/console/login", data=form, allow_redirects=False) as r:
                assert r.status in (302, 303)

            await proxy.cut()
            answers = {}
            for method, path in _routes(app):
                url = _fill(path, dispatch_id)
                headers = {**auth, "X-CSRF-Token": "x"} if method != "GET" else auth
                data = b"{}" if method != "GET" else None
                if path == "/api/v1/dispatches" and method == "POST":
                    data, headers = body, sign(body)
                if path == "/api/v1/cases/{case_no}/events":  # signed, valid: only the database is missing
                    data = json.dumps(CASE_EVENT, ensure_ascii=False).encode()
                    headers = sign(data)
                async with http.request(method, url, data=data, headers=headers, allow_redirects=False) as r:
                    answers[(method, path)] = (r.status, r.headers.get("Retry-After"), (await r.read())[:200])
            await proxy.restore()
    finally:
        await runner.cleanup()
        await proxy.close()

    assert len(answers) >= 60
    failing = {k: v for k, v in answers.items() if v[0] >= 500 and (v[0] != 503 or not v[1])}
    assert failing == {}
    without = {k: v[0] for k, v in answers.items() if v[0] != 503}
    assert set(without) <= NO_DATABASE, without
