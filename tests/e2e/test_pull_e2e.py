"""Pull intake end to end: a real `certpost approval-sim` and a real `certpost serve` over sockets.

The gateway pulls every completed case once (a bad one reported and skipped), a pulled case pushed again
by the pull client is a 200 replay (another body a 409), a restart resumes at the stored cursor, an outage
shows in /healthz and the admin console and is recovered from, and a pull client that is not a configured
client stops `certpost serve` with exit 2."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request

import aiohttp
import pytest

from tests.e2e.console_kit import PASSWORD, add_user
from tests.e2e.crawler import sign_in
from tests.e2e.gateway import CLIENT, SECRET, Gateway, free_port

PULLER, PULL_SECRET = "puller", "e2e-pull-secret-0123456789"


class Sim:
    """`certpost approval-sim` in its own process."""

    def __init__(self, cases: int):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "logistics.cli", "approval-sim", "--port", str(self.port),
               "--cases", str(cases), "--client", PULLER, "--secret", PULL_SECRET]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self._up(), what="the simulator")

    def _up(self) -> bool:
        try:
            return self.control("GET", "/requests") is not None
        except OSError:
            return False

    def control(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/_control{path}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def requests(self) -> list[dict]:
        return self.control("GET", "/requests")["requests"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def wait_for(check, timeout: float = 60.0, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.fixture
def sim():
    s = Sim(cases=9)
    yield s
    s.stop()


def pull_env(sim: Sim, **over) -> dict:
    return {
        "CERTPOST_CLIENTS": json.dumps({CLIENT: SECRET, PULLER: PULL_SECRET}),
        "CERTPOST_PULL_URL": f"{sim.base}/cases",
        "CERTPOST_PULL_CLIENT": PULLER,
        "CERTPOST_PULL_LIMIT": "4",
        "CERTPOST_PULL_INTERVAL_S": "1",
        "CERTPOST_PULL_BACKOFF_MAX_S": "2",
        "CERTPOST_AUTO_BOOK": "false",
        **over,
    }


def pulled_cases(gw: Gateway, token: str) -> list[str]:
    status, body = gw.request(
        "GET", "/api/v1/dispatches?limit=500", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200
    return [d["case_no"] for d in body["dispatches"] if d["case_no"].startswith("AFSIM")]


def pull_health(gw: Gateway) -> tuple[int, dict]:
    status, body = gw.request("GET", "/healthz")
    return status, body["checks"]["pull"]


async def system_page(gw: Gateway) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await sign_in(http, gw.base, "pull-admin", PASSWORD)
        async with http.get(f"{gw.base}/console/admin/system") as r:
            assert r.status == 200
            return await r.text()


def test_pull_intake_end_to_end(tmp_path, sim):
    sim.control("POST", "/bad", {"positions": [4]})  # second page
    cases = [c["case_no"] for c in sim.control("GET", "/cases")["cases"]]
    valid = [c for i, c in enumerate(cases) if i != 4]
    gw = Gateway(tmp_path, **pull_env(sim))
    token = add_user(gw, "pull-admin", "admin")
    gw.start()
    try:
        wait_for(lambda: set(pulled_cases(gw, token)) >= set(valid), what="the pulled cases")
        got = pulled_cases(gw, token)
        assert sorted(got) == sorted(valid)  # each once, not the bad one
        status, health = pull_health(gw)
        assert status == 200 and health["ok"] and health["cursor"] == "c00000009" and health["rejected"] == 1
        page = asyncio.run(system_page(gw))
        for shown in ("审批系统拉取", "c00000009", cases[4], "recipient.phone"):
            assert shown in page
        bad = sim.control("GET", "/cases")["cases"][4]
        assert bad["recipient"]["name"] not in page and bad["address"]["detail"] not in page

        # a pulled case pushed again by the pull client: the same body replays, another conflicts
        body = sim.control("GET", "/cases")["cases"][0]
        status, first = gw.submit(body, secret=PULL_SECRET, client=PULLER)
        assert status == 200, first
        status, mine = gw.request("GET", f"/api/v1/dispatches/{first['id']}", headers=_signed_get())
        assert status == 200 and mine["case_no"] == cases[0]
        status, _ = gw.submit({**body, "weight_g": 999}, secret=PULL_SECRET, client=PULLER)
        assert status == 409

        # a restart resumes at the stored cursor: no gap, no duplicate
        gw.stop()
        last_served = [r["served"] for r in sim.requests() if r.get("served")][-1]
        seen = len(sim.requests())
        sim.control("POST", "/cases", {"count": 6})
        gw.start()
        wait_for(lambda: len(pulled_cases(gw, token)) >= 14, what="the cases completed meanwhile")
        assert sim.requests()[seen]["after"] == last_served == "c00000009"
        got = pulled_cases(gw, token)
        assert len(got) == len(set(got)) == 14

        # the approval system down: /healthz and the console say so; then it comes back
        sim.control("POST", "/faults", {"mode": "http_503", "count": 10_000})
        wait_for(lambda: not pull_health(gw)[1]["ok"], what="the pull failing in /healthz")
        status, health = pull_health(gw)
        assert status == 503 and health["error"] == "http_503" and health["consecutive_failures"] >= 1
        assert "审批系统返回 HTTP 503" in asyncio.run(system_page(gw))
        sim.control("DELETE", "/faults")
        sim.control("POST", "/cases", {"count": 1})
        wait_for(lambda: pull_health(gw)[1]["ok"], what="the pull recovering")
        wait_for(lambda: len(pulled_cases(gw, token)) == 15, what="the case completed during the outage")
    finally:
        gw.stop()
    assert all(r["signed"] for r in sim.requests())


def _signed_get() -> dict:
    from tests.e2e.gateway import sign

    headers = sign(b"", secret=PULL_SECRET, client=PULLER)
    headers.pop("Content-Type")
    return headers


def test_serve_refuses_a_pull_client_that_is_not_a_client(tmp_path, sim):
    gw = Gateway(tmp_path, **pull_env(sim, CERTPOST_PULL_CLIENT="nobody"))
    result = gw.cli("serve", "--port", str(free_port()))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "CERTPOST_PULL_CLIENT" in result.stderr


def test_a_gateway_killed_while_paging_resumes_without_gap_or_duplicate(tmp_path):
    sim = Sim(cases=300)
    env = pull_env(sim, CERTPOST_PULL_LIMIT="3", CERTPOST_SCHEDULER_LEASE_S="3")
    gw = Gateway(tmp_path, **env)
    token = add_user(gw, "pull-admin", "admin")
    try:
        gw.start()
        wait_for(lambda: len(pulled_cases(gw, token)) >= 30, what="the first pages")
        gw.kill9()  # mid-way: no graceful stop, the lease is left to run out
        seen = len(sim.requests())
        assert "c00000300" not in {r.get("served") for r in sim.requests()}  # it was killed mid-way
        gw.start()
        wait_for(lambda: len(pulled_cases(gw, token)) >= 300, timeout=90, what="every case")
        got = pulled_cases(gw, token)
        assert len(got) == len(set(got)) == 300
        served = {r.get("served") for r in sim.requests()[:seen]}
        first_after_restart = sim.requests()[seen]["after"]
        assert first_after_restart and first_after_restart in served
    finally:
        gw.stop()
        sim.stop()
