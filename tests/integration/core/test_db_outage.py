"""The database goes away and comes back (a TCP proxy in front of PostgreSQL is cut and restored): small
writes are kept in memory and written when it is back, in order and bounded; a job completed during the
outage is written afterwards and not run again by this process, though its lease ran out meanwhile."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from logistics import bootstrap
from logistics.config import Settings
from logistics.storage.db import create_engine
from logistics.storage.group_commit import GroupCommitter, write_grouped
from logistics.storage.migrate import upgrade
from logistics.storage.outage import DatabaseUnavailable
from logistics.storage.tables import jobs
from logistics.storage.unit_of_work import SqlWrites, unit_of_work_factory
from tests.conftest import PG_URL, _reset_postgres
from tests.fixtures.db_proxy import DbProxy
from tests.fixtures.dispatches import NOW

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="CERTPOST_TEST_PG_URL not set (.ci/run starts PostgreSQL)"),
]


@pytest.fixture
async def proxy():
    await _reset_postgres(PG_URL)
    engine = create_engine(PG_URL)
    await upgrade(engine)
    await engine.dispose()
    proxy = await DbProxy.before(PG_URL)
    yield proxy
    await proxy.close()


async def _job_rows(kind: str) -> list:
    engine = create_engine(PG_URL)  # straight to PostgreSQL, not through the proxy
    try:
        async with engine.connect() as conn:
            query = select(jobs.c.id, jobs.c.payload, jobs.c.state, jobs.c.attempts)
            return list(await conn.execute(query.where(jobs.c.kind == kind).order_by(jobs.c.id)))
    finally:
        await engine.dispose()


def _note(seq: int):
    async def unit(uow):
        await uow.jobs.enqueue("note", {"seq": seq}, now=NOW, delay_s=3600)

    return unit


async def test_writes_during_an_outage_are_kept_and_written_in_order_when_it_is_back(proxy, caplog):
    caplog.set_level(logging.INFO, logger="certpost.storage")
    engine = create_engine(proxy.url(PG_URL))
    committer = GroupCommitter(unit_of_work_factory(engine), write_grouped, keep_while_away=50)
    writes = SqlWrites(committer)
    await committer.start()
    try:
        await writes.run(_note(0))  # the pool holds a connection that the cut will leave stale
        await proxy.cut()
        pending = []
        for seq in range(1, 21):
            pending.append(asyncio.create_task(writes.run(_note(seq))))
            await asyncio.sleep(0.02)
        await asyncio.sleep(1.0)
        assert not any(task.done() for task in pending)  # kept, not answered with an error
        assert [r.payload["seq"] for r in await _job_rows("note")] == [0]
        await proxy.restore()
        await asyncio.wait_for(asyncio.gather(*pending), 15)
    finally:
        await committer.stop()
        await engine.dispose()
    assert [r.payload["seq"] for r in await _job_rows("note")] == list(range(21))
    said = [r.getMessage() for r in caplog.records if r.name == "certpost.storage"]
    assert any(m.startswith("database unavailable: keeping") for m in said), said
    assert any(m.startswith("database back after") for m in said), said


async def test_writes_beyond_the_bound_are_refused_at_once_while_the_database_is_away(proxy):
    engine = create_engine(proxy.url(PG_URL))
    committer = GroupCommitter(unit_of_work_factory(engine), write_grouped, keep_while_away=5)
    writes = SqlWrites(committer)
    await committer.start()
    try:
        await proxy.cut()
        kept = [asyncio.create_task(writes.run(_note(seq))) for seq in range(5)]
        await asyncio.sleep(0.5)  # the first round failed: the committer knows the database is away
        with pytest.raises(DatabaseUnavailable):
            await asyncio.wait_for(writes.run(_note(99)), 2)
        await proxy.restore()
        await asyncio.wait_for(asyncio.gather(*kept), 15)
    finally:
        await committer.stop()
        await engine.dispose()
    assert [r.payload["seq"] for r in await _job_rows("note")] == list(range(5))


async def test_a_job_completed_during_an_outage_is_written_after_it_and_not_run_again(proxy):
    lease_s = 1.0
    runs: list[int] = []
    finished = asyncio.Event()

    async def probe(job):
        runs.append(job.id)
        if len(runs) == 1:
            await proxy.cut()  # the database goes away while the job runs
            finished.set()

    settings = Settings(database_url=proxy.url(PG_URL), job_lease_s=lease_s, scheduler=False)
    built = bootstrap.system(settings, handlers={"probe": probe}, run_scheduler=False)
    await built.start()
    try:
        async with built.deps.uow() as uow:
            await uow.jobs.enqueue("probe", {}, now=built.deps.clock.now())
        built.wake_workers()
        await asyncio.wait_for(finished.wait(), 10)
        await asyncio.sleep(lease_s * 3)  # the job's lease runs out while its outcome waits
        await proxy.restore()
        for _ in range(100):
            rows = await _job_rows("probe")
            if rows and rows[0].state == "done":
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # time enough for a second run, if the job were claimed again
    finally:
        await built.stop()
    (row,) = await _job_rows("probe")
    assert row.state == "done"
    assert len(runs) == 1
