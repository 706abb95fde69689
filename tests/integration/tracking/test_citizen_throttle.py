"""Failed citizen lookups are counted in the database: instances share one allowance, a restart keeps
it, X-Forwarded-For counts only from a trusted proxy, and one number is capped from any address.
Real gateways (`bootstrap.app`) on loopback sockets, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from logistics import bootstrap
from logistics.config import Settings

from .kit import NOW, FakeClock, booked_dispatch

WAYBILL = "1100000000013"  # booked below; the recipient's phone ends in 1234


class Gateway:
    """One `bootstrap.app` gateway on a loopback port (no workers: the lookup needs none)."""

    def __init__(self, db_url: str, clock: FakeClock, **settings):
        self.settings = Settings(database_url=db_url, scheduler=False, **settings)
        self.clock = clock

    async def __aenter__(self) -> Gateway:
        app = bootstrap.app(self.settings, clock=self.clock, run_workers=False, run_scheduler=False)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.close()
        await self.runner.cleanup()

    async def track(self, *, phone="0000", forwarded: str | None = None, **number) -> tuple[int, dict, dict]:
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        params = {**number, "phone_last4": phone}
        async with self.http.get(self.base + "/api/v1/track", params=params, headers=headers) as r:
            return r.status, await r.json(), dict(r.headers)


async def stored_failures(engine) -> int:
    from logistics.storage.throttle_tables import citizen_failures

    async with engine.connect() as conn:
        return await conn.scalar(select(func.coalesce(func.sum(citizen_failures.c.failures), 0)))


async def test_two_instances_on_one_database_share_one_allowance_and_a_restart_keeps_it(engine, db_url):
    await booked_dispatch(engine, waybill_no=WAYBILL)
    clock = FakeClock(NOW)
    caps = dict(citizen_max_failures=4, citizen_failure_window_s=600)
    async with Gateway(db_url, clock, **caps) as a, Gateway(db_url, clock, **caps) as b:
        assert (await a.track(waybill_no=WAYBILL, phone="1234"))[0] == 200
        assert await stored_failures(engine) == 0  # a lookup that finds its parcel writes nothing
        for gw, i in ((a, 1), (b, 2), (a, 3), (b, 4)):
            assert (await gw.track(waybill_no=f"11000000{i:05d}"))[0] == 404
        for gw in (a, b):
            status, body, headers = await gw.track(waybill_no=WAYBILL, phone="1234")  # even the right one
            assert status == 429 and body == {"error": "查询过于频繁，请稍后再试"}
            assert headers["Retry-After"] == "600"
    clock.t = NOW + timedelta(seconds=590)
    async with Gateway(db_url, clock, **caps) as restarted:
        status, _, headers = await restarted.track(waybill_no=WAYBILL, phone="1234")
        assert (status, headers["Retry-After"]) == (429, "10")
        clock.t = NOW + timedelta(seconds=601)  # the window has ended
        assert (await restarted.track(waybill_no=WAYBILL, phone="1234"))[0] == 200
        assert (await restarted.track(waybill_no="1100000099993"))[0] == 404  # counts from one again


async def test_x_forwarded_for_names_the_citizen_only_when_a_trusted_proxy_sends_it(engine, db_url):
    clock = FakeClock(NOW)
    caps = dict(citizen_max_failures=2, citizen_max_failures_per_waybill=100)
    async with Gateway(db_url, clock, trusted_proxies=["127.0.0.1", "10.0.0.0/8"], **caps) as behind_proxy:
        # Each citizen behind the proxy has an allowance of their own ...
        for i in range(6):
            forwarded = f"203.0.113.{i}"
            assert (await behind_proxy.track(waybill_no=f"11000000{i:05d}", forwarded=forwarded))[0] == 404
        # ... counted for the right-most address the trusted proxies did not add: a prefix the client
        # wrote itself changes nothing.
        for i in range(2):
            chain = f"198.51.100.{i}, 192.0.2.9, 10.0.0.2"
            assert (await behind_proxy.track(waybill_no=f"11000001{i:05d}", forwarded=chain))[0] == 404
        status, _, _ = await behind_proxy.track(waybill_no="1100000200003", forwarded="7.7.7.7, 192.0.2.9")
        assert status == 429
        assert (await behind_proxy.track(waybill_no="1100000200003", forwarded="192.0.2.10"))[0] == 404
    async with Gateway(db_url, clock, **caps) as exposed:  # no trusted proxy: the header is anyone's
        statuses = [
            (await exposed.track(waybill_no=f"11000003{i:05d}", forwarded=f"203.0.113.{100 + i}"))[0]
            for i in range(4)
        ]
        assert statuses == [404, 404, 429, 429]


@pytest.mark.parametrize("number", ["waybill_no", "case_no"])
async def test_one_number_is_capped_however_many_addresses_guess_it(engine, db_url, number):
    d = await booked_dispatch(engine, waybill_no=WAYBILL)
    value = WAYBILL if number == "waybill_no" else d.case_no
    clock = FakeClock(NOW)
    caps = dict(
        trusted_proxies=["127.0.0.1"],
        citizen_max_failures=3,
        citizen_max_failures_per_waybill=5,
        citizen_max_failures_per_case=5,
        citizen_number_failure_window_s=3600,
    )
    async with Gateway(db_url, clock, **caps) as gw:
        for i in range(5):
            answer = await gw.track(**{number: value}, phone=f"{9000 + i}", forwarded=f"198.51.100.{i}")
            assert answer[0] == 404
        status, body, headers = await gw.track(**{number: value}, phone="1234", forwarded="198.51.100.99")
        assert (status, headers["Retry-After"]) == (429, "3600")
        # An unknown number guessed as often answers alike (no way to tell it from a known one).
        for i in range(5):
            await gw.track(**{number: "AF-NONE-1100000000099"}, forwarded=f"192.0.2.{i}")
        assert (await gw.track(**{number: "AF-NONE-1100000000099"}, forwarded="192.0.2.99"))[:2] == (
            status,
            body,
        )
        other = "1100000000027" if number == "waybill_no" else "AF-OTHER"
        assert (await gw.track(**{number: other}, forwarded="198.51.100.98"))[0] == 404  # not this number


async def test_concurrent_failures_are_each_counted_once(engine):
    from logistics.storage.throttle_repo import SqlCitizenFailures

    bucket = ("ip", "203.0.113.7")

    async def fail():
        async with engine.begin() as conn:
            await SqlCitizenFailures(conn).count_failure({bucket: 600, ("waybill", WAYBILL): 3600}, now=NOW)

    await asyncio.gather(*(fail() for _ in range(20)))
    async with engine.connect() as conn:
        found = await SqlCitizenFailures(conn).windows([bucket, ("waybill", WAYBILL)])
    windows = {(w.kind, w.key): w for w in found}
    assert windows[bucket].failures == windows[("waybill", WAYBILL)].failures == 20
    assert windows[bucket].ends_at == NOW + timedelta(seconds=600)
    async with engine.begin() as conn:
        assert await SqlCitizenFailures(conn).forget_ended(now=NOW + timedelta(seconds=600)) == 1


async def test_a_burst_of_concurrent_guesses_at_one_number_cannot_outrun_its_count(engine, db_url):
    await booked_dispatch(engine, waybill_no=WAYBILL)
    caps = dict(trusted_proxies=["127.0.0.1"], citizen_max_failures_per_waybill=5, citizen_max_in_flight=4)
    async with Gateway(db_url, FakeClock(NOW), **caps) as gw:
        guesses = [
            gw.track(waybill_no=WAYBILL, phone=f"{9000 + i}", forwarded=f"198.51.100.{i}") for i in range(40)
        ]
        statuses = [answer[0] for answer in await asyncio.gather(*guesses)]
    assert set(statuses) == {404, 429}
    assert statuses.count(404) <= 5 + 4 - 1  # the cap, and what was in flight when it was reached
