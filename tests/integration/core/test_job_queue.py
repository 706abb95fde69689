"""The durable job queue on a real database: leases, retries, dead letters, many workers."""

import asyncio
from datetime import timedelta

from sqlalchemy import select

from logistics.domain.backoff import backoff_s
from logistics.jobs import queue
from logistics.jobs.worker import WorkerPool
from logistics.service.job_contract import GiveUp, RetryLater
from logistics.storage.db import create_engine
from logistics.storage.job_repo import SqlJobs
from logistics.storage.tables import jobs
from tests.fixtures.dispatches import NOW


class FakeClock:
    def __init__(self, now=NOW):
        self.t = now

    def now(self):
        return self.t


async def add(engine, n=1, kind="k", **kw):
    async with engine.begin() as conn:
        for i in range(n):
            await SqlJobs(conn).enqueue(kind, {"i": i}, now=NOW, **kw)


async def states(engine):
    async with engine.connect() as conn:
        return sorted(await conn.scalars(select(jobs.c.state)))


async def test_a_claimed_job_is_leased_and_reclaimed_only_after_the_lease(engine):
    await add(engine)
    async with engine.begin() as conn:
        [job] = await queue.claim(conn, worker="w1", now=NOW, lease_s=30, kinds=["k"])
        assert (
            await queue.claim(conn, worker="w2", now=NOW + timedelta(seconds=10), lease_s=30, kinds=["k"])
            == []
        )
        [again] = await queue.claim(
            conn, worker="w2", now=NOW + timedelta(seconds=31), lease_s=30, kinds=["k"]
        )
    assert (again.id, again.attempts) == (job.id, 2)
    async with engine.begin() as conn:  # the first worker lost its lease: its completion does not count
        assert not await SqlJobs(conn).complete(job, worker="w1", now=NOW)
        assert await SqlJobs(conn).complete(again, worker="w2", now=NOW)
    assert await states(engine) == ["done"]


async def test_failures_back_off_then_dead_letter_and_staff_can_retry(engine):
    await add(engine, max_attempts=2)
    t = NOW
    async with engine.begin() as conn:
        [job] = await queue.claim(conn, worker="w", now=t, lease_s=30, kinds=["k"])
        assert await SqlJobs(conn).fail(job, "boom", worker="w", now=t) == queue.PENDING
        assert await queue.claim(conn, worker="w", now=t, lease_s=30, kinds=["k"]) == []  # backing off
        [job] = await queue.claim(conn, worker="w", now=t + timedelta(seconds=5), lease_s=30, kinds=["k"])
        assert await SqlJobs(conn).fail(job, "boom again", worker="w", now=t) == queue.DEAD
        [dead] = await SqlJobs(conn).list_jobs(queue.DEAD)
        assert dead["last_error"] == "boom again" and dead["attempts"] == 2
        assert await SqlJobs(conn).retry_dead(job.id, now=t)
        assert len(await queue.claim(conn, worker="w", now=t, lease_s=30, kinds=["k"])) == 1


async def test_retry_after_is_honoured(engine):
    await add(engine)
    async with engine.begin() as conn:
        [job] = await queue.claim(conn, worker="w", now=NOW, lease_s=30, kinds=["k"])
        await SqlJobs(conn).fail(job, "429", worker="w", now=NOW, retry_after_s=120)
        assert (
            await queue.claim(conn, worker="w", now=NOW + timedelta(seconds=119), lease_s=30, kinds=["k"])
            == []
        )
        assert await queue.claim(conn, worker="w", now=NOW + timedelta(seconds=121), lease_s=30, kinds=["k"])


async def test_dedupe_key_keeps_one_unfinished_job(engine):
    await add(engine, dedupe_key="book:1")
    await add(engine, dedupe_key="book:1")
    assert await states(engine) == ["pending"]
    async with engine.begin() as conn:
        [job] = await queue.claim(conn, worker="w", now=NOW, lease_s=30, kinds=["k"])
        await SqlJobs(conn).complete(job, worker="w", now=NOW)
    await add(engine, dedupe_key="book:1")  # finished work may be asked for again
    assert await states(engine) == ["done", "pending"]


def test_backoff_grows_and_is_capped():
    assert 1 <= backoff_s(1) <= 2
    assert 32 <= backoff_s(6) <= 64
    assert backoff_s(40) <= 600


async def test_many_workers_run_every_job_exactly_once(engine):
    await add(engine, n=200)
    seen: list[int] = []

    async def handler(job):
        seen.append(job.payload["i"])
        await asyncio.sleep(0)

    pool = WorkerPool(engine, FakeClock(), {"k": handler}, concurrency=8, idle_poll_s=0.05)
    await pool.start()
    try:
        for _ in range(200):
            if await states(engine) == ["done"] * 200:
                break
            await asyncio.sleep(0.05)
    finally:
        await pool.stop()
    assert sorted(seen) == list(range(200))


async def test_worker_maps_handler_outcomes(engine):
    await add(engine, kind="retry")
    await add(engine, kind="giveup")
    await add(engine, kind="crash")

    async def retry(job):
        raise RetryLater("carrier busy", retry_after_s=300)

    async def giveup(job):
        raise GiveUp("address unreachable")

    async def crash(job):
        raise KeyError("bug")

    pool = WorkerPool(engine, FakeClock(), {"retry": retry, "giveup": giveup, "crash": crash}, concurrency=1)
    for _ in range(3):
        assert await pool.run_one()
    async with engine.connect() as conn:
        rows = {r.kind: r for r in await conn.execute(select(jobs))}
    assert rows["retry"].state == "pending" and rows["retry"].run_after == NOW + timedelta(seconds=300)
    assert rows["giveup"].state == "dead" and rows["giveup"].last_error == "address unreachable"
    assert rows["crash"].state == "pending" and "KeyError" in rows["crash"].last_error


async def test_two_processes_share_the_queue_without_running_a_job_twice(db_url):
    """Two engines stand for two gateway processes (on PostgreSQL: SKIP LOCKED)."""
    first, second = create_engine(db_url), create_engine(db_url)
    from logistics.storage.migrate import upgrade

    await upgrade(first)
    await add(first, n=100)
    seen: list[int] = []

    async def handler(job):
        seen.append(job.payload["i"])

    pools = [
        WorkerPool(e, FakeClock(), {"k": handler}, concurrency=4, idle_poll_s=0.05) for e in (first, second)
    ]
    for p in pools:
        await p.start()
    try:
        for _ in range(200):
            if len(seen) >= 100 and await states(first) == ["done"] * 100:
                break
            await asyncio.sleep(0.05)
    finally:
        for p in pools:
            await p.stop()
        await first.dispose()
        await second.dispose()
    assert sorted(seen) == list(range(100))
