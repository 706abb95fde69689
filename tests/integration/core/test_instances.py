"""The instance registry's storage (issue 14), on SQLite and PostgreSQL: a dead instance's claimed jobs
go back to the queue, a live one's stay; a graceful release gives the attempt back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from logistics.jobs import queue
from logistics.storage import instance_repo as repo
from logistics.storage.job_repo import SqlJobs
from logistics.storage.tables import instances, jobs
from tests.fixtures.dispatches import NOW


async def claimed_by(engine, worker: str, n: int, *, at) -> None:
    async with engine.begin() as conn:
        for i in range(n):
            await SqlJobs(conn).enqueue("book", {"dispatch_id": f"{worker}-{i}"}, now=at)
        claimed = await queue.claim(conn, worker=worker, now=at, lease_s=60, kinds=["book"], limit=n)
        assert len(claimed) == n


async def states(engine) -> dict[str, tuple]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(jobs.c.payload, jobs.c.state, jobs.c.locked_by, jobs.c.attempts))
        return {r.payload["dispatch_id"]: (r.state, r.locked_by, r.attempts) for r in rows}


async def test_a_dead_instances_jobs_are_handed_back_and_a_live_ones_kept(engine):
    async with engine.begin() as conn:
        for name, beat in (("dead", NOW - timedelta(seconds=11)), ("live", NOW - timedelta(seconds=2))):
            await repo.heartbeat(conn, name, host="h", pid=1, started_at=beat, now=beat, demand=3)
    await claimed_by(engine, "dead", 2, at=NOW - timedelta(seconds=20))
    await claimed_by(engine, "live", 2, at=NOW - timedelta(seconds=20))
    async with engine.begin() as conn:
        assert [p.id for p in await repo.live(conn, now=NOW, dead_after_s=10)] == ["live"]
        dead, released = await repo.reap_dead(conn, now=NOW, dead_after_s=10)
    assert (dead, released) == (["dead"], 2)
    found = await states(engine)
    assert found["dead-0"] == found["dead-1"] == (queue.PENDING, None, 1)  # the attempt counts (a crash)
    assert found["live-0"] == found["live-1"] == (queue.RUNNING, "live", 1)
    async with engine.connect() as conn:
        assert list(await conn.scalars(select(instances.c.id))) == ["live"]
    async with engine.begin() as conn:  # due at once: another worker claims them now
        again = await queue.claim(conn, worker="live", now=NOW, lease_s=60, kinds=["book"], limit=10)
    assert sorted(j.payload["dispatch_id"] for j in again) == ["dead-0", "dead-1"]


async def test_a_graceful_release_gives_the_attempt_back(engine):
    await claimed_by(engine, "stopping", 3, at=NOW)
    async with engine.begin() as conn:
        assert await repo.release_jobs(conn, ["stopping"], now=NOW, give_back_attempt=True) == 3
    assert set((await states(engine)).values()) == {(queue.PENDING, None, 0)}
