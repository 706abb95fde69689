"""The deployment guide's promises, tested: deploy/nginx.conf (README "Deploying for a province") in front
of two `certpost serve` instances on one PostgreSQL. Signed intake lands once; the throttle sees the
citizen's address, never a forged X-Forwarded-For; oversized bodies are a 413 (never a 502); /healthz
answers through nginx; the instances' 429 and 503 reach the client with their Retry-After; with one
instance killed, requests go on through the other."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import pytest

from tests.conftest import PG_URL, _reset_postgres
from tests.e2e.gateway import Gateway, sign
from tests.e2e.nginx_edge import EXAMPLE, Nginx, nginx_binary
from tests.fixtures.dispatches import intake_body

try:  # helper "ops": a TCP proxy between the instances and PostgreSQL that can be cut
    from tests.fixtures.db_proxy import ProxyThread
except ImportError:  # pragma: no cover - before that branch is merged
    ProxyThread = None

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="CERTPOST_TEST_PG_URL not set (.ci/run starts PostgreSQL)"),
    pytest.mark.skipif(not nginx_binary(), reason="nginx not installed (.ci/run installs it)"),
]

MIB, KIB = 1024 * 1024, 1024
CITIZEN_CAP = 3  # failed lookups per address before 429 (CERTPOST_CITIZEN_MAX_FAILURES)


class Deployment:
    def __init__(self, instances: list[Gateway], nginx: Nginx, proxy):
        self.instances, self.nginx, self.proxy = instances, nginx, proxy
        self._token: str | None = None

    def submit(self, payload: dict, **request):
        body = json.dumps(payload, ensure_ascii=False).encode()
        return self.nginx.request("POST", "/api/v1/dispatches", body, sign(body), **request)

    @property
    def staff(self) -> dict:
        if self._token is None:
            self._token = self.instances[0].staff_token("desk-wang", "dispatcher")
        return {"Authorization": f"Bearer {self._token}"}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    asyncio.run(_reset_postgres(PG_URL))
    proxy = ProxyThread(PG_URL) if ProxyThread else None
    env = {
        "CERTPOST_DATABASE_URL": proxy.db_url if proxy else PG_URL,
        "CERTPOST_TRUSTED_PROXIES": "127.0.0.1",  # nginx, as it connects to the instances
        "CERTPOST_AUTO_BOOK": "false",
        "CERTPOST_CITIZEN_MAX_FAILURES": str(CITIZEN_CAP),
    }
    instances = [Gateway(tmp_path_factory.mktemp(f"instance{n}"), **env) for n in (1, 2)]
    upgraded = instances[0].cli("db", "upgrade")  # the guide: migrate once, then start the instances
    assert upgraded.returncode == 0, upgraded.stderr
    nginx = None
    try:
        for instance in instances:
            instance.start()
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), [i.port for i in instances]).start()
        yield Deployment(instances, nginx, proxy)
    finally:
        if nginx:
            nginx.stop()
        for instance in instances:
            instance.stop()
        if proxy:
            proxy.close()


async def _fetch(sql: str, *args) -> list:
    import asyncpg

    conn = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def fetch(sql: str, *args) -> list:
    return asyncio.run(_fetch(sql, *args))


def test_signed_intake_through_nginx(deployment):
    first = deployment.submit(intake_body("NGX-1"))
    assert first.status == 201, first.body
    answer = first.json()
    rows = fetch("SELECT id, client_id, status FROM dispatches WHERE case_no = $1", "NGX-1")
    assert [(r["id"], r["client_id"], r["status"]) for r in rows] == [(answer["id"], "approval", "received")]
    replay = deployment.submit(intake_body("NGX-1"))  # whichever instance it reaches
    assert (replay.status, replay.json()) == (200, answer)
    # Round robin: the two calls went to both instances, and each knew the case.
    served = {line.split("upstream=")[1].split(":")[1] for line in _lines(deployment, "/api/v1/dispatches")}
    assert served >= {str(i.port) for i in deployment.instances}


def _lines(deployment: Deployment, uri: str) -> list[str]:
    return [line for line in deployment.nginx.access_lines() if line.split()[2].split("?")[0] == uri]


def test_plain_http_is_redirected_to_https(deployment):
    r = deployment.nginx.plain_http("/track")
    assert r.status == 301 and r.headers["Location"].startswith("https://")


def test_throttle_counts_the_citizen_not_nginx_nor_a_forged_header(deployment):
    forged = {"X-Forwarded-For": "203.0.113.7"}
    for n in range(CITIZEN_CAP):
        r = deployment.nginx.request(
            "GET", f"/api/v1/track?waybill_no=1100000{n:05d}&phone_last4=1234", headers=forged
        )
        assert r.status == 404
    rows = fetch("SELECT key, failures FROM citizen_failures WHERE kind = 'ip'")
    assert {r["key"]: r["failures"] for r in rows} == {"127.0.0.2": CITIZEN_CAP}

    over = deployment.nginx.request("GET", "/api/v1/track?waybill_no=1100000099999&phone_last4=1234")
    assert over.status == 429 and int(over.headers["Retry-After"]) > 0  # the instance's answer, passed on
    # Another citizen (another address) is not held back by the first one's failures.
    other = deployment.nginx.request(
        "GET", "/api/v1/track?waybill_no=1100000088888&phone_last4=1234", source="127.0.0.3"
    )
    assert other.status == 404


def _oversized_intake(size: int) -> bytes:
    """A signed-looking intake body of exactly `size` bytes."""
    body = json.dumps(intake_body("NGX-BIG", remark="")).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_bodies_over_the_limits_are_413_never_502(deployment):
    nginx = deployment.nginx
    at_limit = _oversized_intake(MIB)
    r = nginx.request("POST", "/api/v1/dispatches", at_limit, sign(at_limit))
    assert r.status not in (413, 502), r.body  # 1 MiB is allowed by nginx and the gateway alike

    over = _oversized_intake(MIB + 1)
    r = nginx.request("POST", "/api/v1/dispatches", over, sign(over))
    assert (r.status, r.json()) == (413, {"error": "Request Entity Too Large"})
    assert r.headers["Content-Type"].startswith("application/json")

    # Chunked, so no Content-Length announces it: nginx counts the bytes.
    chunks = [b"x" * (64 * KIB)] * 20
    r = nginx.request("POST", "/api/v1/dispatches", iter(chunks), sign(b""), chunked=True)
    assert r.status == 413

    big = b"{" + b" " * (8 * MIB) + b"}"
    r = nginx.request("POST", "/api/v1/dispatches", big, sign(big))
    assert r.status == 413

    # Under nginx's default (256 KiB) but over the gateway's own limit for a correction (64 KiB): the
    # instance's 413 comes through.
    created = deployment.submit(intake_body("NGX-CORR")).json()
    correction = b"{" + b" " * (64 * KIB) + b"}"
    headers = {**deployment.staff, "Content-Type": "application/json"}
    r = nginx.request("PATCH", f"/api/v1/dispatches/{created['id']}", correction, headers)
    assert (r.status, r.json()) == (413, {"error": "Request Entity Too Large"})

    login = b"name=a&password=" + b"p" * (8 * KIB)
    r = nginx.request("POST", "/console/login", login, {"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 413

    statuses = [line.split()[3] for line in nginx.access_lines()]
    assert "502" not in statuses and "504" not in statuses
    lines = [line.split() for line in nginx.access_lines()]
    refused_by = {f[2]: f[4].removeprefix("upstream=") for f in lines if f[3] == "413"}
    assert refused_by["/api/v1/dispatches"] == "-:-"  # nginx refused it, the instances never saw it
    assert refused_by[f"/api/v1/dispatches/{created['id']}"].endswith(":413")  # the instance refused it
    assert "upstream prematurely closed" not in nginx.error_log


def test_healthz_through_nginx(deployment):
    r = deployment.nginx.request("GET", "/healthz")
    assert r.status == 200
    assert r.json()["status"] == "ok" and r.json()["checks"]["database"]["ok"] is True


def test_sandbox_is_not_exposed(deployment):
    assert deployment.nginx.request("GET", "/sandbox/").status == 404


@pytest.mark.skipif(ProxyThread is None, reason="needs tests/fixtures/db_proxy.py (database outage proxy)")
def test_503_with_retry_after_passes_through_while_the_database_is_away(deployment):
    deployment.proxy.cut()
    try:
        for path, body in (("/api/v1/dispatches", intake_body("NGX-AWAY")), ("/healthz", None)):
            if body is None:
                r = deployment.nginx.request("GET", path)
            else:
                r = deployment.submit(body)
            assert r.status == 503, (path, r.status, r.body)
            assert int(r.headers["Retry-After"]) > 0, path
            assert r.headers["Content-Type"].startswith("application/json"), path  # the instance's answer
    finally:
        deployment.proxy.restore()
    assert deployment.submit(intake_body("NGX-BACK")).status == 201


def _fail_timeout_s() -> float:
    """The upstream servers' fail_timeout in deploy/nginx.conf (seconds)."""
    values = set(re.findall(r"^\s*server \S+ .*fail_timeout=(\d+)s;", EXAMPLE.read_text(), re.M))
    assert len(values) == 1, values
    return float(values.pop())


def test_rolling_restart_answers_every_request(deployment):
    """The guide's upgrade: restart the instances one at a time (SIGTERM, start, /healthz) while intake
    flows through nginx. Every request is answered as if nothing happened: 201, or 200 where nginx sent
    a request on to the other instance after the first had stored it (intake's replay)."""
    answered: list[tuple[str, int]] = []
    stop = threading.Event()

    def submit(n: int) -> None:
        i = 0
        while not stop.is_set():
            case_no = f"NGX-ROLL-{n}-{i}"
            answered.append((case_no, deployment.submit(intake_body(case_no)).status))
            i += 1

    senders = [threading.Thread(target=submit, args=(n,)) for n in range(3)]
    for sender in senders:
        sender.start()
    try:
        for instance in deployment.instances:
            instance.stop()
            instance.start()  # and its /healthz answers
            time.sleep(_fail_timeout_s() + 0.5)  # nginx takes it back (docs/deploy.md, step 3)
    finally:
        stop.set()
        for sender in senders:
            sender.join(60)
    assert len(answered) > 20
    assert {status for _, status in answered} <= {200, 201}, sorted({s for _, s in answered})
    rows = fetch("SELECT case_no FROM dispatches WHERE case_no LIKE 'NGX-ROLL-%'")
    assert sorted(r["case_no"] for r in rows) == sorted(case_no for case_no, _ in answered)


def test_one_instance_killed_the_other_serves(deployment):
    """Last in this module: one instance is gone for good."""
    deployment.instances[1].kill9()
    nginx, statuses = deployment.nginx, []
    for n in range(20):
        statuses.append(deployment.submit(intake_body(f"NGX-KILL-{n}")).status)
        statuses.append(nginx.request("GET", "/healthz").status)
        statuses.append(nginx.request("GET", "/api/v1/dispatches", headers=deployment.staff).status)
    assert statuses == [201, 200, 200] * 20
    stored = fetch("SELECT count(*) AS n FROM dispatches WHERE case_no LIKE 'NGX-KILL-%'")
    assert stored[0]["n"] == 20
    # nginx did meet the dead instance, and sent those requests on to the live one.
    assert "Connection refused" in deployment.nginx.error_log
