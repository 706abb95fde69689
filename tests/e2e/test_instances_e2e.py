"""Two `certpost serve` processes on one PostgreSQL (issue 14): when the instance holding claimed jobs
and the scheduler lease dies (kill -9), the other takes both over as soon as it is known dead (heartbeat
older than CERTPOST_INSTANCE_DEAD_AFTER_S), not when each job's 60 s lease runs out; a graceful stop
(SIGTERM) hands them back at once. Every dispatch is still booked exactly once."""

from __future__ import annotations

import asyncio
import subprocess
import time

import pytest
from sqlalchemy import func, select

from logistics.storage.db import create_engine
from logistics.storage.tables import instances, jobs, leases
from tests.conftest import PG_URL, _reset_postgres
from tests.e2e.gateway import Gateway, carrier_env, free_port
from tests.e2e.test_booking_crash import _answers, sim_orders, wait
from tests.fixtures.dispatches import intake_body

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="CERTPOST_TEST_PG_URL not set (.ci/run starts PostgreSQL)"),
]

DEAD_AFTER_S = 10.0  # the defaults, stated: CERTPOST_INSTANCE_DEAD_AFTER_S, heartbeat 1 s
SCHEDULER_TAKEOVER_S = 12.0  # CERTPOST_SCHEDULER_LEASE_S (9 s) * 4 / 3
SLACK_S = 3.0  # a busy CI machine: process start-up, polling
BURST = 40
RATE = "2"  # the carrier's rate (req/s): slow, so the jobs are still claimed when their holder dies


@pytest.fixture
def simulator():
    from tests.e2e.gateway import sandbox_command

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen(sandbox_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait(lambda: _answers(base), 20, "simulator")
    yield base
    sim.terminate()
    sim.wait(10)


def gateway(tmp_path, name: str, sim_base: str) -> Gateway:
    (tmp_path / name).mkdir()
    return Gateway(
        tmp_path / name,
        **carrier_env(sim_base),
        CERTPOST_DATABASE_URL=PG_URL,
        CERTPOST_CARRIER_RATE_PER_S=RATE,
        CERTPOST_JOB_LEASE_S="60",  # the old hand-back time: this test fails if we waited for it
    )


async def holders(engine) -> tuple[dict[str, int], str | None, dict[int, str]]:
    """Running book jobs per worker, the scheduler lease's holder, the live instances by pid."""
    async with engine.connect() as conn:
        query = (
            select(jobs.c.locked_by, func.count())
            .where(jobs.c.state == "running", jobs.c.kind == "book")
            .group_by(jobs.c.locked_by)
        )
        running = dict((await conn.execute(query)).all())
        lease = await conn.scalar(select(leases.c.holder).where(leases.c.name == "scheduler"))
        by_pid = {pid: i for i, pid in (await conn.execute(select(instances.c.id, instances.c.pid))).all()}
    return running, lease, by_pid


async def until(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def run_takeover(tmp_path, sim_base: str, stop) -> tuple[float, float]:
    """A holds the jobs and the scheduler; B starts; `stop(A)`; returns how long B took to get A's jobs
    and the scheduler lease. Then every dispatch is booked exactly once."""
    await _reset_postgres(PG_URL)
    engine = create_engine(PG_URL)
    a, b = gateway(tmp_path, "a", sim_base), gateway(tmp_path, "b", sim_base)
    try:
        a.start()
        for i in range(BURST):
            status, _ = a.submit(intake_body(f"INST-{i:03d}"))
            assert status == 201

        async def a_holds():
            running, lease, by_pid = await holders(engine)
            a_id = by_pid.get(a.proc.pid)
            return a_id and lease == a_id and running.get(a_id, 0) >= BURST // 2 and a_id

        a_id = await until(a_holds, 30, "A holding the jobs and the scheduler lease")
        b.start()
        b_id = await until(lambda: _pid_id(engine, b.proc.pid), 10, "B registered")
        stopped_at = time.monotonic()
        stop(a)
        jobs_back = lease_back = None
        while jobs_back is None or lease_back is None:
            running, lease, _ = await holders(engine)
            now = time.monotonic() - stopped_at
            if jobs_back is None and running.get(a_id, 0) == 0:
                jobs_back = now
            if lease_back is None and lease == b_id:
                lease_back = now
            assert now < 60, f"not taken over in 60 s: {running}, lease {lease}"
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(sim_orders(sim_base)) >= BURST:
                break
            await asyncio.sleep(0.5)
        orders = sim_orders(sim_base)
        assert len(orders) == BURST == len({o["order_no"] for o in orders})  # each booked exactly once
        return jobs_back, lease_back
    finally:
        a.stop()
        b.stop()
        await engine.dispose()


async def _pid_id(engine, pid: int) -> str | None:
    return (await holders(engine))[2].get(pid)


async def test_kill_9_hands_jobs_and_the_scheduler_to_another_instance_within_the_dead_limit(
    tmp_path, simulator
):
    jobs_back, lease_back = await run_takeover(tmp_path, simulator, lambda gw: gw.kill9())
    print(
        f"kill -9: jobs handed back after {jobs_back:.1f} s, scheduler lease taken after {lease_back:.1f} s"
    )
    assert jobs_back <= DEAD_AFTER_S + 1.0 + SLACK_S
    assert lease_back <= SCHEDULER_TAKEOVER_S + SLACK_S


async def test_a_graceful_stop_hands_jobs_and_the_scheduler_back_at_once(tmp_path, simulator):
    jobs_back, lease_back = await run_takeover(tmp_path, simulator, lambda gw: gw.stop())
    print(
        f"SIGTERM: jobs handed back after {jobs_back:.1f} s, scheduler lease taken after {lease_back:.1f} s"
    )
    assert jobs_back <= 5.0 + SLACK_S  # CERTPOST_STOP_GRACE_S for the calls under way
    assert lease_back <= 9.0 / 3 + SLACK_S  # released at once: B's next renewal takes it
