"""Staff accounts over real sockets, on SQLite and PostgreSQL: lock-out and pickup-code limits under
parallel attempts, revoking and reissuing API tokens (CLI and console), password resets, the commonest
passwords, the login form's body cap and its `next` target."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web

from logistics import bootstrap
from logistics.config import Settings
from logistics.domain.model import DeliveryMethod
from logistics.domain.status import Status
from logistics.service import dispatches as dispatch_service
from logistics.service import sessions, users
from logistics.service.intake import IntakeRequest, record_intake
from logistics.storage.console_repo import SqlConsoleRecords
from logistics.storage.dispatch_repo import SqlDispatches
from logistics.storage.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from logistics.web.keys import ENGINE
from tests.fixtures.dispatches import NOW, make_dispatch

PASSWORD = "hall-desk-2026"
TOKEN = "login-form-token"  # the login form's double-submit token: cookie and field must match


class CountingHasher:
    """argon2's hasher, counting how many secrets were checked."""

    def __init__(self, inner):
        self.inner, self.verified = inner, 0

    def hash(self, secret):
        return self.inner.hash(secret)

    def verify(self, stored, secret):
        self.verified += 1
        return self.inner.verify(stored, secret)


class Site:
    def __init__(self, db_url: str):
        self.db_url = db_url

    async def start(self) -> Site:
        self.app = bootstrap.app(Settings(database_url=self.db_url), run_workers=False, run_scheduler=False)
        self.runner = web.AppRunner(self.app, shutdown_timeout=1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.port = self.runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), cookie_jar=None)
        return self

    async def stop(self) -> None:
        await self.http.close()
        await self.runner.cleanup()

    @property
    def engine(self):
        return self.app[ENGINE]

    async def login(self, name: str, password: str, next_: str = "") -> aiohttp.ClientResponse:
        form = {"csrf": TOKEN, "name": name, "password": password, "next": next_}
        headers = {"Cookie": f"certpost_login={TOKEN}"}
        async with self.http.post(
            self.base + "/console/login", data=form, headers=headers, allow_redirects=False
        ) as r:
            await r.read()
            return r

    async def session(self, name: str, password: str = PASSWORD) -> dict:
        """Headers of a signed-in console user (cookie and CSRF token) for fetch-style requests."""
        s = await sessions.login(
            unit_of_work_factory(self.engine), name, password, now=datetime.now(UTC), policy=sessions.Policy()
        )
        return {
            "Cookie": f"certpost_session={s.token}",
            "X-CSRF-Token": s.csrf_token,
            "X-Requested-With": "fetch",
        }

    async def status(self, method: str, path: str, headers: dict, **kw) -> int:
        async with self.http.request(
            method, self.base + path, headers=headers, allow_redirects=False, **kw
        ) as r:
            await r.read()
            return r.status

    async def api_status(self, token: str) -> int:
        return await self.status("GET", "/api/v1/exceptions", {"Authorization": f"Bearer {token}"})

    async def console_status(self, headers: dict) -> int:
        return await self.status("GET", "/console/", {"Cookie": headers["Cookie"]})

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        env = {**os.environ, "CERTPOST_DATABASE_URL": self.db_url}
        cmd = [sys.executable, "-m", "logistics.cli", *args]
        return subprocess.run(cmd, input=stdin, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
async def site(db_url):
    s = await Site(db_url).start()
    yield s
    await s.stop()


@pytest.fixture
def hasher(monkeypatch):
    counting = CountingHasher(users._hasher)
    monkeypatch.setattr(users, "_hasher", counting)
    return counting


async def add_user(site: Site, name: str, role: str = "dispatcher") -> str:
    return await users.create(
        unit_of_work_factory(site.engine)(),
        name,
        role,
        password=PASSWORD,
        actor="test",
        now=datetime.now(UTC),
    )


# ---- lock-out under parallel attempts -----------------------------------------------------------


async def test_parallel_wrong_passwords_are_checked_no_more_than_the_limit(site, hasher):
    await add_user(site, "li")
    responses = await asyncio.gather(*(site.login("li", f"wrong-{n}") for n in range(40)))
    statuses = sorted(r.status for r in responses)
    assert hasher.verified <= 5, f"{hasher.verified} wrong passwords were checked (limit 5)"
    assert statuses.count(401) <= 4 and set(statuses) <= {401, 429}
    right = await site.login("li", PASSWORD)  # locked: even the right password is refused
    assert right.status == 429 and hasher.verified <= 5
    async with site.engine.connect() as conn:
        record = await SqlConsoleRecords(conn).failures_of("li")
    assert record.failures == 5 and record.locked_until > datetime.now(UTC) + timedelta(minutes=14)


async def test_a_success_resets_the_count_and_an_expired_lock_counts_afresh(site):
    await add_user(site, "wang")
    policy, now = sessions.Policy(max_failures=3, lockout_minutes=15), datetime.now(UTC)
    for _ in range(2):
        with pytest.raises(sessions.LoginRefused):
            await sessions.login(
                unit_of_work_factory(site.engine), "wang", "nope-nope", now=now, policy=policy
            )
    assert (
        await sessions.login(unit_of_work_factory(site.engine), "wang", PASSWORD, now=now, policy=policy)
    ).user.name == "wang"
    for n in range(3):  # the count starts again at zero after the success
        with pytest.raises(sessions.LoginRefused) as e:
            await sessions.login(
                unit_of_work_factory(site.engine), "wang", "nope-nope", now=now, policy=policy
            )
        assert (e.value.locked_until is not None) == (n == 2)
    with pytest.raises(sessions.LoginRefused, match="锁定"):
        await sessions.login(
            unit_of_work_factory(site.engine),
            "wang",
            PASSWORD,
            now=now + timedelta(minutes=14),
            policy=policy,
        )
    later = now + timedelta(minutes=16)
    with pytest.raises(sessions.LoginRefused) as e:  # lock over: a first failure again, not a lock
        await sessions.login(unit_of_work_factory(site.engine), "wang", "nope-nope", now=later, policy=policy)
    assert e.value.locked_until is None
    assert (
        await sessions.login(unit_of_work_factory(site.engine), "wang", PASSWORD, now=later, policy=policy)
    ).user.name == "wang"


async def stored_for_pickup(engine, case_no: str, code: str) -> str:
    d = make_dispatch(case_no, delivery_method=DeliveryMethod.PICKUP)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await record_intake(SqlUnitOfWork.on(conn), IntakeRequest(d, case_no, NOW, False, 5))
        d = await SqlDispatches(conn).get(d.id)
        if d.status is not Status.AWAITING_PICKUP:
            d = await dispatch_service.move(
                SqlUnitOfWork.on(conn), d, Status.AWAITING_PICKUP, at=now, actor="test", cause="setup"
            )
        await SqlConsoleRecords(conn).put_pickup_code(
            d.id,
            code_hash=users.hash_secret(code),
            now=now,
            expires_at=now + timedelta(hours=72),
            by="t",
        )
    return d.id


async def test_parallel_wrong_pickup_codes_are_checked_no_more_than_the_limit(site, hasher):
    await add_user(site, "desk")
    headers = await site.session("desk")
    dispatch_id = await stored_for_pickup(site.engine, "PK-RACE-1", "246810")
    hasher.verified = 0
    path = f"/console/pickup/{dispatch_id}/verify"
    statuses = await asyncio.gather(
        *(site.status("POST", path, headers, data={"code": f"{n:06d}"}) for n in range(29))
    )
    assert set(statuses) == {422}
    assert hasher.verified <= 5, f"{hasher.verified} wrong codes were checked (limit 5)"
    async with site.http.post(site.base + path, headers=headers, data={"code": "246810"}) as r:
        assert r.status == 422 and "次数过多" in (await r.json())["error"]
    async with site.engine.connect() as conn:
        assert (await SqlDispatches(conn).get(dispatch_id)).status is Status.AWAITING_PICKUP
        assert (await SqlConsoleRecords(conn).pickup_code(dispatch_id)).attempts == 5


async def test_the_right_pickup_code_within_the_limit_releases_the_certificate(site):
    await add_user(site, "desk2")
    headers = await site.session("desk2")
    dispatch_id = await stored_for_pickup(site.engine, "PK-OK-1", "135790")
    path = f"/console/pickup/{dispatch_id}/verify"
    assert await site.status("POST", path, headers, data={"code": "000000"}) == 422
    assert await site.status("POST", path, headers, data={"code": "135790"}) == 303
    assert await site.status("POST", path, headers, data={"code": "135790"}) == 409  # picked up already
    async with site.engine.connect() as conn:
        assert (await SqlDispatches(conn).get(dispatch_id)).status is Status.PICKED_UP


# ---- tokens: revoke, reissue, password reset (CLI) ----------------------------------------------


async def test_cli_revoke_ends_the_token_and_the_sessions_at_once(site):
    token = await add_user(site, "zhao")
    headers = await site.session("zhao")
    assert await site.api_status(token) == 200 and await site.console_status(headers) == 200
    done = await asyncio.to_thread(site.cli, "users", "revoke", "zhao")
    assert done.returncode == 0, done.stderr
    assert await site.api_status(token) == 401
    assert await site.console_status(headers) == 303  # back to the sign-in page
    assert (await site.login("zhao", PASSWORD)).status == 401  # the password went with it
    listed = {u["name"]: u for u in await users.list_users(unit_of_work_factory(site.engine)(read_only=True))}
    assert not listed["zhao"]["has_token"] and not listed["zhao"]["has_password"]


async def test_cli_token_issues_a_new_token_and_the_old_one_stops_working(site):
    old = await add_user(site, "qian")
    headers = await site.session("qian")
    done = await asyncio.to_thread(site.cli, "users", "token", "qian")
    assert done.returncode == 0, done.stderr
    new = done.stdout.strip().splitlines()[-1]
    assert new.startswith("cp_") and new != old
    assert await site.api_status(new) == 200 and await site.api_status(old) == 401
    assert await site.console_status(headers) == 200  # a new token leaves the console session alone


async def test_cli_bad_usage_is_exit_2_with_one_line(site):
    unknown = await asyncio.to_thread(site.cli, "users", "revoke", "nobody")
    assert unknown.returncode == 2 and unknown.stderr.strip().splitlines() == ["certpost: 没有用户 nobody"]
    empty = await asyncio.to_thread(site.cli, "users", "token", " ")
    assert empty.returncode == 2 and len(empty.stderr.strip().splitlines()) == 1


async def test_a_password_reset_ends_the_sessions_and_the_old_token(site):
    old = await add_user(site, "sun")
    headers = await site.session("sun")
    done = await asyncio.to_thread(
        site.cli, "users", "passwd", "sun", "--password-stdin", stdin="new-desk-2027\n"
    )
    assert done.returncode == 0, done.stderr
    new = done.stdout.strip().splitlines()[-1]
    assert await site.console_status(headers) == 303
    assert await site.api_status(old) == 401 and await site.api_status(new) == 200
    assert (await site.login("sun", "new-desk-2027")).status == 303


async def test_the_cli_refuses_the_commonest_passwords_with_one_line(site):
    done = await asyncio.to_thread(
        site.cli, "users", "add", "zhou", "--role", "dispatcher", "--password-stdin", stdin="password123\n"
    )
    assert done.returncode == 2 and "过于常见" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    await add_user(site, "zhou")
    done = await asyncio.to_thread(
        site.cli, "users", "passwd", "zhou", "--password-stdin", stdin="88888888\n"
    )
    assert done.returncode == 2 and "过于常见" in done.stderr
    assert (await site.login("zhou", PASSWORD)).status == 303  # the old password still works


# ---- tokens in the admin console ----------------------------------------------------------------


async def test_the_admin_console_reissues_and_revokes_tokens(site):
    await add_user(site, "boss", "admin")
    old = await add_user(site, "wu")
    admin, staff = await site.session("boss"), await site.session("wu")
    ids = {
        u["name"]: u["id"] for u in await users.list_users(unit_of_work_factory(site.engine)(read_only=True))
    }
    async with site.http.post(f"{site.base}/console/admin/users/{ids['wu']}/token", headers=admin) as r:
        assert r.status == 200
        new = re.search(r'id="new-token" class="token" readonly value="([^"]+)"', await r.text()).group(1)
    assert await site.api_status(new) == 200 and await site.api_status(old) == 401
    no_csrf = {k: v for k, v in admin.items() if k != "X-CSRF-Token"}
    assert await site.status("POST", f"/console/admin/users/{ids['wu']}/revoke", no_csrf) == 403
    assert await site.api_status(new) == 200
    assert (
        await site.status("POST", f"/console/admin/users/{ids['boss']}/revoke", admin) == 409
    )  # not oneself
    assert await site.status("POST", f"/console/admin/users/{ids['wu']}/revoke", admin) == 303
    assert await site.api_status(new) == 401 and await site.console_status(staff) == 303
    async with site.http.post(
        f"{site.base}/console/admin/users/{ids['wu']}/password", headers=admin, data={"password": "admin1234"}
    ) as r:
        assert r.status == 422 and "过于常见" in (await r.json())["error"]
    async with site.http.get(f"{site.base}/console/admin/users", headers={"Cookie": admin["Cookie"]}) as r:
        page = await r.text()
    assert "已吊销" in page and "吊销账号" in page and "签发新令牌" in page


# ---- the login form: body cap, `next` -----------------------------------------------------------


def raw_exchange(port: int, head: bytes, body_parts: list[bytes], timeout: float = 5.0) -> bytes:
    """Send a request's head and some body, then read whatever the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        for part in body_parts:
            try:
                s.sendall(part)
            except OSError:  # the server answered and closed: fine
                break
        return s.recv(65536)


async def test_a_big_login_body_is_refused_at_once_without_being_read(site):
    head = (
        b"POST /console/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Cookie: certpost_login=" + TOKEN.encode() + b"\r\nContent-Length: " + str(60 * 2**20).encode()
        + b"\r\n\r\n"
    )  # fmt: skip
    started = asyncio.get_running_loop().time()
    answer = await asyncio.to_thread(raw_exchange, site.port, head, [b"name=" + b"a" * 1024])
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert asyncio.get_running_loop().time() - started < 3
    chunked = (
        b"POST /console/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (4096, b"a" * 4096)
    answer = await asyncio.to_thread(raw_exchange, site.port, chunked, [chunk] * 4)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    await add_user(site, "zheng")  # a normal sign-in still works
    assert (await site.login("zheng", PASSWORD)).status == 303


@pytest.mark.parametrize(
    "target",
    [
        "/console/\r\nSet-Cookie: evil=1",
        "/console/%0d%0aSet-Cookie:%20evil=1\r\n",
        "//evil.example/console/",
        "https://evil.example/console/",
        "/console/\\evil",
        "/elsewhere",
        "/console/\x00",
    ],
)
async def test_a_bad_next_goes_to_the_console_home_without_an_error(site, target):
    await add_user(site, "feng")
    async with site.http.get(
        f"{site.base}/console/login", params={"next": target}, allow_redirects=False
    ) as r:
        assert r.status == 200
    answer = await site.login("feng", PASSWORD, next_=target)
    assert answer.status == 303 and answer.headers["Location"] == "/console/"
    assert "evil" not in str(answer.headers)


async def test_a_console_next_is_followed_after_sign_in(site):
    await add_user(site, "chen")
    answer = await site.login("chen", PASSWORD, next_="/console/pickup?q=%E5%BC%A0")
    assert answer.status == 303 and answer.headers["Location"] == "/console/pickup?q=%E5%BC%A0"
