"""While the carrier's circuit is open, jobs wait for it to close instead of spending their attempts:
an outage of any length (here many breaker rounds; its port refuses connections) kills no job."""

import asyncio
import contextlib
import logging
import time

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from adapters import build_carrier
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY, start_sandbox
from logistics import bootstrap
from logistics.config import Settings
from logistics.jobs import queue
from logistics.service.resilience import CircuitBreaker, GuardedCarrier
from logistics.storage.tables import jobs
from logistics.web.keys import ENGINE
from tests.integration.core.test_booking_flow import SECRET, Stack
from tests.integration.core.test_number_pool import Outage, _at_least, wait_until


async def start(tmp_path, kind: str, **settings) -> tuple[Stack, Outage]:
    stack = Stack()
    stack.sim_runner, stack.sim = await start_sandbox()
    outage = Outage(int(stack.sim.rsplit(":", 1)[1]))
    await outage.up()
    carrier = build_carrier(
        kind, base_url=f"http://127.0.0.1:{outage.port}", sender_no=DEFAULT_SENDER_NO,
        sign_key=DEFAULT_SIGN_KEY, timeout_s=1.0,
    )  # fmt: skip
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/gw.db", clients={"approval": SECRET}, workers=4,
        job_lease_s=10, **settings,
    )  # fmt: skip
    breaker = CircuitBreaker(threshold=2, reset_s=0.2, trial_wait_s=0.1)  # many rounds in a few seconds
    stack.carrier = GuardedCarrier(carrier, concurrency=4, breaker=breaker)
    stack.app = bootstrap.app(settings, carrier=stack.carrier)
    stack.runner = web.AppRunner(stack.app)
    await stack.runner.setup()
    await web.TCPSite(stack.runner, "127.0.0.1", 0).start()
    stack.base = f"http://127.0.0.1:{stack.runner.addresses[0][1]}"
    stack.http = aiohttp.ClientSession()
    return stack, outage


@pytest.fixture
async def outage_stacks():
    started = []

    async def make(*args, **kwargs):
        started.append(await start(*args, **kwargs))
        return started[-1]

    yield make
    for stack, outage in started:
        with contextlib.suppress(Exception):
            await outage.down()
        await stack.stop()


async def job_rows(engine, kind):
    async with engine.connect() as conn:
        return list(await conn.execute(select(jobs.c.state, jobs.c.attempts).where(jobs.c.kind == kind)))


def retries_of(caplog, kind: str) -> int:
    return sum(1 for r in caplog.records if f"({kind}, " in r.getMessage() and " retry in " in r.getMessage())


async def test_booking_jobs_wait_for_the_open_circuit_without_spending_attempts(
    outage_stacks, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="certpost")
    stack, outage = await outage_stacks(tmp_path, "ems_open", job_max_attempts=2, pool_offline=False)
    await outage.down()
    ids = [(await stack.submit(f"OUT-{i}"))["id"] for i in range(3)]
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:  # many breaker rounds, each a retry of every job
        stack.app_wake()
        await asyncio.sleep(0.2)
    assert retries_of(caplog, "book") >= 3 * 3  # each job went round at least thrice...
    rows = await job_rows(stack.app[ENGINE], "book")
    assert len(rows) == 3 and {state for state, _ in rows} <= {queue.PENDING, queue.RUNNING}  # none died
    assert all(attempts < 2 for _, attempts in rows)
    assert {(await stack.dispatch(i))["status"] for i in ids} == {"booking"}
    assert any("circuit opened" in r.getMessage() for r in caplog.records)

    await outage.up()
    states = await stack.settle(ids, done=("booked",), wait_s=30)
    orders = (await stack.control("GET", "/orders"))["orders"]
    assert len(orders) == 3 == len({o["order_no"] for o in orders})
    assert {s["waybill_no"] for s in states} == {o["waybill_no"] for o in orders}
    assert any("circuit closed" in r.getMessage() for r in caplog.records)


async def test_sync_offline_survives_many_circuit_open_rounds(outage_stacks, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="certpost")
    stack, outage = await outage_stacks(tmp_path, "ems_soap", pool_low_watermark=5, pool_batch=10)
    engine = stack.app[ENGINE]
    from logistics.storage.pool_repo import SqlWaybillPool

    async def pool_counts():
        async with engine.connect() as conn:
            return await SqlWaybillPool(conn).counts()

    await wait_until(lambda: _at_least(pool_counts, 10))
    await outage.down()
    ids = [(await stack.submit(f"SYNC-{i}"))["id"] for i in range(2)]
    await stack.settle(ids, done=("booked",))  # offline, with pool numbers
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stack.app_wake()
        await asyncio.sleep(0.2)
    assert retries_of(caplog, "sync_offline") >= 2 * 8  # more rounds than a job has attempts
    rows = await job_rows(engine, "sync_offline")
    assert len(rows) == 2 and {state for state, _ in rows} <= {queue.PENDING, queue.RUNNING}
    assert all(attempts <= 1 for _, attempts in rows)  # at most the fault that opened the circuit
    assert (await stack.control("GET", "/orders"))["orders"] == []

    await outage.up()

    async def reported():
        orders = (await stack.control("GET", "/orders"))["orders"]
        return len(orders) == 2 and orders

    await wait_until(reported, 30)

    async def synced():
        return {state for state, _ in await job_rows(engine, "sync_offline")} == {queue.DONE}

    await wait_until(synced, 10)
