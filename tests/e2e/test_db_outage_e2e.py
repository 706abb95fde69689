"""A real `certpost serve` whose PostgreSQL goes away and comes back (a TCP proxy between them is cut
and restored; the shared cluster itself is never touched): while it is away every kind of route answers
503 with Retry-After, never a 500; once it is back they answer normally at once (no stale pooled
connection reaches a client); a burst of intake across cuts loses no 201, and every dispatch is booked
exactly once at the carrier (a standalone simulator), the bookings whose outcome came back during a cut
written afterwards."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import select, text

from logistics.storage.db import create_engine
from logistics.storage.tables import dispatches
from tests.conftest import PG_URL, _reset_postgres
from tests.e2e.console_kit import PASSWORD, add_user
from tests.e2e.gateway import Gateway, carrier_env, free_port, sandbox_command
from tests.e2e.test_booking_crash import _answers, sim_orders, wait
from tests.fixtures.db_proxy import ProxyThread
from tests.fixtures.dispatches import intake_body

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="CERTPOST_TEST_PG_URL not set (.ci/run starts PostgreSQL)"),
]


@pytest.fixture
def proxy():
    asyncio.run(_reset_postgres(PG_URL))
    proxy = ProxyThread(PG_URL)
    yield proxy
    proxy.close()


@pytest.fixture
def simulator():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen(sandbox_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(lambda: _answers(base), 20, "simulator")
        yield base
    finally:
        sim.terminate()
        sim.wait(10)


@pytest.fixture
def gw(tmp_path, proxy, simulator):
    gateway = Gateway(
        tmp_path, CERTPOST_DATABASE_URL=proxy.db_url, CERTPOST_JOB_LEASE_S="20", **carrier_env(simulator)
    )
    gateway.start()
    yield gateway
    gateway.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _raw(gw: Gateway, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """(status, headers, body) of one request, redirects not followed."""
    opener = urllib.request.build_opener(_NoRedirect)
    req = urllib.request.Request(gw.base + path, data=body, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def _sign_in(gw: Gateway, name: str) -> dict:
    """The console's session cookie, signed in through the login form."""
    _, headers, _ = _raw(gw, "GET", "/console/login")
    login = SimpleCookie(headers["Set-Cookie"])["certpost_login"].value
    form = urllib.parse.urlencode({"name": name, "password": PASSWORD, "csrf": login}).encode()
    status, headers, _ = _raw(
        gw, "POST", "/console/login", form,
        {"Cookie": f"certpost_login={login}", "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert status in (302, 303), status
    cookies = SimpleCookie()
    for value in headers.get_all("Set-Cookie"):
        cookies.load(value)
    return {"Cookie": f"certpost_session={cookies['certpost_session'].value}"}


def test_while_the_database_is_away_every_kind_of_route_answers_503_and_normally_once_back(gw, proxy):
    token = add_user(gw, "desk-wang", "admin")
    staff = {"Authorization": f"Bearer {token}"}
    console = _sign_in(gw, "desk-wang")
    status, first = gw.submit(intake_body("OUTAGE-0001"))
    assert status == 201
    track = "/api/v1/track?case_no=OUTAGE-0001&phone_last4=1234"
    routes = {
        "intake": lambda: _raw(gw, "POST", "/api/v1/dispatches", *_signed(gw, "OUTAGE-NEW-1")),
        "dispatch": lambda: _raw(gw, "GET", f"/api/v1/dispatches/{first['id']}", headers=staff),
        "list": lambda: _raw(gw, "GET", "/api/v1/dispatches?limit=5", headers=staff),
        "citizen": lambda: _raw(gw, "GET", track),
        "console": lambda: _raw(gw, "GET", "/console/dispatches", headers=console),
        "healthz": lambda: _raw(gw, "GET", "/healthz"),
    }
    reads = [name for name in routes if name != "intake"]
    normal = {name: routes[name]()[0] for name in reads}
    assert normal == {"dispatch": 200, "list": 200, "citizen": 200, "console": 200, "healthz": 200}

    proxy.cut()
    for name, call in routes.items():
        for _ in range(2):  # the first request meets the pool's dead connections, the next a refusal
            status, headers, body = call()
            assert status == 503, (name, status, body[:300])
            assert int(headers["Retry-After"]) > 0, name
            if name == "console":
                assert "服务暂不可用" in body.decode()
            else:
                assert json.loads(body)["error" if name != "healthz" else "status"], (name, body)
    proxy.restore()  # at once, no waiting: the pool's connections died with the cut
    status, _, body = routes["intake"]()
    assert status == 201, body  # the 503s wrote nothing: the case is new
    assert {name: routes[name]()[0] for name in reads} == normal


def _signed(gw: Gateway, case_no: str) -> tuple[bytes, dict]:
    from tests.e2e.gateway import sign

    body = json.dumps(intake_body(case_no), ensure_ascii=False).encode()
    return body, sign(body)


BURST = 240


def test_a_burst_of_intake_across_database_cuts_loses_no_201_and_books_each_dispatch_once(
    gw, proxy, simulator
):
    answers: dict[str, list[tuple[int, str | None]]] = {}
    lock = threading.Lock()

    def submit_until_answered(n: int) -> None:
        case_no = f"BURST-{n:04d}"
        body, headers = _signed(gw, case_no)
        seen = []
        for _ in range(400):
            status, head, raw = _raw(gw, "POST", "/api/v1/dispatches", body, headers)
            seen.append((status, json.loads(raw).get("id") if status in (200, 201) else None))
            if status in (200, 201):
                break
            assert status == 503 and head["Retry-After"], (status, raw[:300])
            time.sleep(0.1)  # a client honouring Retry-After would wait longer; the test keeps it short
        with lock:
            answers[case_no] = seen

    def answered_at_least(share: float) -> None:
        deadline = time.time() + 60
        while len(answers) < BURST * share and time.time() < deadline:
            time.sleep(0.01)

    def outages() -> None:  # each lands mid-burst, however fast the machine
        answered_at_least(0.15)
        proxy.cut()  # like a PostgreSQL restart
        time.sleep(1.0)
        proxy.restore()
        answered_at_least(0.5)
        proxy.cut()  # a longer outage
        time.sleep(4.0)
        proxy.restore()

    cutter = threading.Thread(target=outages)
    cutter.start()
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(submit_until_answered, range(BURST)))
    cutter.join()

    assert len(answers) == BURST
    refused = sum(status == 503 for seen in answers.values() for status, _ in seen)
    assert refused > 0, "the cuts must land in the burst"
    final = {case: seen[-1] for case, seen in answers.items()}
    assert all(status in (200, 201) for status, _ in final.values())
    created = {case: i for case, seen in answers.items() for status, i in seen if status == 201}
    rows = asyncio.run(_dispatch_rows())
    assert set(created.values()) <= set(rows)  # every 201 has its row
    assert len(rows) == BURST
    for case_no in list(answers)[:: BURST // 24]:  # the approval system sends a case again: the same id
        status, again = gw.submit(intake_body(case_no))
        assert status == 200 and again["id"] == rows_by_case(rows)[case_no]

    token = gw.staff_token("burst-admin", "admin")
    auth = {"Authorization": f"Bearer {token}"}

    def all_booked():
        _, listing = gw.request("GET", "/api/v1/dispatches?status=booked&limit=500", headers=auth)
        return listing["total"] == BURST and listing

    listing = wait(all_booked, 120, "every dispatch booked")
    orders = sim_orders(simulator)
    assert len(orders) == BURST
    assert {o["waybill_no"] for o in orders} == {d["waybill_no"] for d in listing["dispatches"]}


async def _dispatch_rows() -> dict[str, str]:
    engine = create_engine(PG_URL)
    try:
        async with engine.connect() as conn:
            return {
                row.id: row.case_no
                for row in await conn.execute(select(dispatches.c.id, dispatches.c.case_no))
            }
    finally:
        await engine.dispose()


def rows_by_case(rows: dict[str, str]) -> dict[str, str]:
    return {case: i for i, case in rows.items()}


async def _terminate_backends() -> int:
    """What a PostgreSQL restart does to open connections (FATAL 57P01, administrator command), done to
    this test database's other sessions only."""
    engine = create_engine(PG_URL)
    try:
        async with engine.connect() as conn:
            ended = await conn.scalars(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return sum(1 for ok in ended if ok)
    finally:
        await engine.dispose()


def test_connections_the_server_terminates_are_replaced_without_an_error_to_anyone(tmp_path, simulator):
    asyncio.run(_reset_postgres(PG_URL))
    gw = Gateway(tmp_path, CERTPOST_DATABASE_URL=PG_URL, **carrier_env(simulator)).start()
    try:
        token = gw.staff_token("restart-admin", "admin")
        auth = {"Authorization": f"Bearer {token}"}
        statuses: list[int] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            body, headers = _signed(gw, f"TERM-{n:04d}")
            for _ in range(200):
                status = _raw(gw, "POST", "/api/v1/dispatches", body, headers)[0]
                read = _raw(gw, "GET", "/api/v1/dispatches?limit=5", headers=auth)[0]
                with lock:
                    statuses.extend((status, read))
                if status in (200, 201):
                    return
                time.sleep(0.05)

        ended = []

        def restarts() -> None:
            for _ in range(3):
                time.sleep(0.4)
                ended.append(asyncio.run(_terminate_backends()))

        terminator = threading.Thread(target=restarts)
        terminator.start()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(client, range(120)))
        terminator.join()
        assert sum(ended) > 0
        assert {s for s in statuses} <= {200, 201, 503}, sorted(set(statuses))
        after = [_raw(gw, "GET", "/api/v1/dispatches?limit=5", headers=auth)[0] for _ in range(20)]
        asyncio.run(_terminate_backends())  # idle pooled connections die: the next requests get new ones
        after += [_raw(gw, "GET", "/api/v1/dispatches?limit=5", headers=auth)[0] for _ in range(20)]
        assert after == [200] * 40
        assert len(asyncio.run(_dispatch_rows())) == 120
    finally:
        gw.stop()


def test_a_gateway_started_while_the_database_is_away_comes_up_once_it_is_back(tmp_path, proxy):
    gw = Gateway(tmp_path, CERTPOST_DATABASE_URL=proxy.db_url, CERTPOST_AUTO_BOOK="false")
    log = tmp_path / "serve.log"

    def restore_once_it_waits() -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            if log.exists() and "database unavailable at start-up" in log.read_text():
                break
            time.sleep(0.1)
        proxy.restore()

    proxy.cut()
    back = threading.Thread(target=restore_once_it_waits)
    back.start()
    try:
        gw.start(timeout=60)
        assert gw.request("GET", "/healthz")[0] == 200
        assert "database unavailable at start-up" in log.read_text()
    finally:
        back.join()
        gw.stop()
