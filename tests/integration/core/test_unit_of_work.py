"""The SQL unit of work: a read-only one takes a pooled connection only when a statement needs one;
a write one commits on leaving and rolls back on an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from logistics.storage.unit_of_work import unit_of_work_factory

NOW = datetime(2026, 11, 5, 8, 0, tzinfo=UTC)
BUCKETS = [("ip", "203.0.113.9"), ("waybill", "1100000000999")]


def checked_out(engine) -> int:
    return engine.sync_engine.pool.checkedout()


async def test_a_read_only_unit_of_work_opens_its_connection_at_its_first_statement(engine):
    new_uow = unit_of_work_factory(engine)
    async with new_uow(read_only=True) as uow:
        assert checked_out(engine) == 0
        assert await uow.jobs.counts() == {}
        assert checked_out(engine) == 1
    assert checked_out(engine) == 0


async def test_citizen_windows_on_a_sqlite_file_take_no_pooled_connection(engine, db_url):
    new_uow = unit_of_work_factory(engine)
    async with new_uow() as uow:
        await uow.throttle.count_failure({b: 600 for b in BUCKETS}, now=NOW)
    async with new_uow(read_only=True) as uow:
        windows = await uow.throttle.windows(BUCKETS)
        assert checked_out(engine) == (0 if db_url.startswith("sqlite") else 1)
    assert sorted((w.kind, w.key, w.failures) for w in windows) == sorted((k, v, 1) for k, v in BUCKETS)
    assert all(w.ends_at == NOW + timedelta(seconds=600) for w in windows)


async def test_leaving_commits_and_an_exception_rolls_back(engine):
    new_uow = unit_of_work_factory(engine)
    with pytest.raises(RuntimeError):
        async with new_uow() as uow:
            await uow.pool.add(["1100000000001"], now=NOW)
            raise RuntimeError("boom")
    async with new_uow(read_only=True) as uow:
        assert await uow.pool.counts() == {"free": 0, "assigned": 0}
    async with new_uow() as uow:
        await uow.pool.add(["1100000000001", "1100000000002"], now=NOW)
        assert await uow.pool.take("D1", now=NOW) == "1100000000001"
    async with new_uow(read_only=True) as uow:
        assert await uow.pool.counts() == {"free": 1, "assigned": 1}


async def test_jobs_complete_many_only_those_whose_lease_the_worker_holds(engine):
    from logistics.jobs import queue

    new_uow = unit_of_work_factory(engine)
    async with new_uow() as uow:
        await uow.jobs.enqueue_many([("book", {"i": i}, f"k{i}") for i in range(3)], now=NOW)
        await uow.jobs.enqueue("book", {"i": 0}, now=NOW, dedupe_key="k0")  # kept: k0 is unfinished
    async with engine.begin() as conn:
        claimed = await queue.claim(conn, worker="w1", now=NOW, lease_s=30, kinds=["book"], limit=2)
    async with new_uow() as uow:
        done = await uow.jobs.complete_many([j.id for j in claimed] + [999], worker="w1", now=NOW)
        assert await uow.jobs.complete_many([j.id for j in claimed], worker="w2", now=NOW) == set()
    assert done == {j.id for j in claimed}
    async with new_uow(read_only=True) as uow:
        assert await uow.jobs.counts() == {"done": 2, "pending": 1}
