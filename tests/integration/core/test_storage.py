"""Dispatch storage and intake on a real database (SQLite file, and PostgreSQL when configured)."""

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pydantic_core
import pytest
from sqlalchemy import func, select

from logistics.domain.errors import Conflict
from logistics.domain.model import DeliveryMethod, Direction
from logistics.domain.status import Status
from logistics.service import dispatches as dispatch_service
from logistics.service.intake import IntakeRequest, plan_intake, record_intake, record_intake_batch
from logistics.storage.db import create_engine
from logistics.storage.dispatch_repo import SqlDispatches
from logistics.storage.group_commit import GroupCommitter
from logistics.storage.migrate import upgrade
from logistics.storage.sqlite import fast_intake
from logistics.storage.tables import dispatches, jobs
from logistics.storage.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory, unit_of_work_factory
from tests.fixtures.dispatches import NOW, make_dispatch


def req(d, h="hash-1"):
    return IntakeRequest(d, h, NOW, True, 5)


async def intake(engine, d, h="hash-1"):
    async with unit_of_work_factory(engine)() as uow:
        return await record_intake(uow, req(d, h))


async def count(engine, table):
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(table))


async def test_intake_stores_dispatch_audit_and_booking_job_together(engine):
    d = make_dispatch("C1")
    result = await intake(engine, d)
    assert result.created and result.response["status"] == "received"
    async with engine.connect() as conn:
        stored = await SqlDispatches(conn).get(d.id)
        events = await SqlDispatches(conn).events(d.id)
    assert stored == replace(d, updated_at=stored.updated_at)
    assert [(e.from_status, e.to_status, e.cause) for e in events] == [(None, Status.RECEIVED, "intake")]
    assert await count(engine, jobs) == 1


async def test_replay_returns_the_first_response_and_conflict_raises(engine):
    first = await intake(engine, make_dispatch("C2"))
    replay = await intake(engine, make_dispatch("C2"))  # a new id, same case and content
    assert (replay.created, replay.response) == (False, first.response)
    with pytest.raises(Conflict):
        await intake(engine, make_dispatch("C2"), h="other-content")
    assert await count(engine, dispatches) == 1
    assert await count(engine, jobs) == 1


async def test_a_case_sent_again_after_the_client_moved_to_another_hall_is_a_conflict(engine):
    await intake(engine, make_dispatch("C9"))  # stored in the default hall
    async with SqlUnitOfWorkFactory(engine, hall="AF")() as uow:
        with pytest.raises(Conflict, match="another hall"):  # never a 201 for a row it did not write
            await record_intake(uow, req(make_dispatch("C9", hall="AF")))
    assert await count(engine, dispatches) == 1


async def test_a_failed_transaction_leaves_neither_dispatch_nor_job(engine):
    with pytest.raises(RuntimeError):
        async with unit_of_work_factory(engine)() as uow:
            await record_intake(uow, req(make_dispatch("C3")))
            raise RuntimeError("crash before commit")
    assert await count(engine, dispatches) == 0
    assert await count(engine, jobs) == 0


def committer_for(engine):
    return GroupCommitter(unit_of_work_factory(engine), record_intake_batch)


async def test_concurrent_duplicates_through_group_commit_create_one(engine):
    committer = committer_for(engine)
    await committer.start()
    try:
        results = await asyncio.gather(*(committer.submit(req(make_dispatch("C4"))) for _ in range(20)))
        others = await asyncio.gather(*(committer.submit(req(make_dispatch(f"D{i}"))) for i in range(30)))
        conflict = await asyncio.gather(
            committer.submit(req(make_dispatch("C4"), "other")), return_exceptions=True
        )
    finally:
        await committer.stop()
    assert sum(r.created for r in results) == 1
    assert len({r.response["id"] for r in results}) == 1
    assert all(r.created and r.queued for r in others)
    assert isinstance(conflict[0], Conflict)
    assert await count(engine, dispatches) == 31
    assert await count(engine, jobs) == 31


async def test_a_batch_mixing_new_replays_and_conflicts(engine):
    await intake(engine, make_dispatch("M1"))
    batch = [
        req(make_dispatch("M1")),
        req(make_dispatch("M2")),
        req(make_dispatch("M2")),
        req(make_dispatch("M1"), "x"),
    ]
    async with unit_of_work_factory(engine)() as uow:
        results = await record_intake_batch(uow, batch)
    assert [getattr(r, "created", None) for r in results] == [False, True, False, None]
    assert results[1].response["id"] == results[2].response["id"]
    assert isinstance(results[3], Conflict)


async def test_a_case_stored_between_the_read_and_the_insert_is_what_it_is_now(engine, monkeypatch):
    """Another writer (a second gateway, a pull) stores a case after our batch read the stored cases:
    the insert skips it and its requests are answered as a replay or a conflict, in the same
    transaction, never as a second dispatch nor a failed batch."""
    first = await intake(engine, make_dispatch("R1"))
    real = SqlDispatches.stored_cases
    reads = []

    async def stale_first_read(self, keys):
        found = await real(self, keys)
        reads.append(set(keys))
        return {} if len(reads) == 1 else found

    monkeypatch.setattr(SqlDispatches, "stored_cases", stale_first_read)
    async with unit_of_work_factory(engine)() as uow:
        results = await record_intake_batch(
            uow, [req(make_dispatch("R1")), req(make_dispatch("R2")), req(make_dispatch("R1"), "other")]
        )
    assert (results[0].created, results[0].response) == (False, first.response)
    assert results[1].created and results[1].queued
    assert isinstance(results[2], Conflict)
    assert reads[1] == {("approval", "R1", "outbound")}  # only the late case is read again
    assert await count(engine, dispatches) == 2
    assert await count(engine, jobs) == 2


async def test_a_failing_batch_falls_back_to_one_by_one(engine):
    """When the batch transaction fails (e.g. another process inserted one of its cases after our
    read), nothing of it stays and every item is recorded alone, each answered on its own."""
    calls = []

    async def failing_batch(uow, items):
        calls.append(len(items))
        results = await record_intake_batch(uow, items)
        if len(items) > 1:
            raise RuntimeError("the batch insert failed")
        return results

    committer = GroupCommitter(unit_of_work_factory(engine), failing_batch)
    await committer.start()
    try:
        outcomes = await asyncio.gather(
            committer.submit(req(make_dispatch("E1"))),
            committer.submit(req(make_dispatch("E2"))),
            committer.submit(req(make_dispatch("E1"), "different")),
            return_exceptions=True,
        )
    finally:
        await committer.stop()
    assert calls[0] == 3  # the three went together, then each alone
    assert outcomes[0].created and outcomes[1].created and isinstance(outcomes[2], Conflict)
    assert await count(engine, dispatches) == 2


async def _sqlite_gateway_db(path):
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    await upgrade(engine)
    fast = fast_intake(engine, url, plan_intake, enabled=True)
    assert fast is not None
    committer = GroupCommitter(unit_of_work_factory(engine), record_intake_batch, fast=fast)
    return engine, fast.writer.engine, committer


def _raw_rows(path) -> dict:
    with sqlite3.connect(path) as db:
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in ("dispatches", "dispatch_events", "jobs")
        }


async def test_the_sqlite_fast_path_stores_exactly_what_record_intake_stores(tmp_path):
    """The raw DB-API rows of the group-commit thread are byte for byte the rows SQLAlchemy writes,
    and read back equal through the repository (datetimes, JSON, audit events, booking jobs)."""
    now = datetime(2026, 3, 9, 17, 4, 5, 123456, tzinfo=timezone(timedelta(hours=8)))
    whole = now.replace(microsecond=0)
    reqs = [
        IntakeRequest(make_dispatch("F1", created_at=now), "h1", now, True, 5),
        IntakeRequest(
            make_dispatch("F2", delivery_method=DeliveryMethod.PICKUP, created_at=now), "h2", now, True, 5
        ),
        IntakeRequest(make_dispatch("F3", direction=Direction.INBOUND, created_at=now), "h3", now, True, 7),
        IntakeRequest(make_dispatch("F4", created_at=now), "h4", now, False, 5),
        IntakeRequest(make_dispatch("F5", created_at=whole), "h5", whole, True, 5),  # SQLite's ".000000"
    ]
    slow_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/slow.db")
    await upgrade(slow_engine)
    slow = []
    for r in reqs:
        async with unit_of_work_factory(slow_engine)() as uow:
            slow.append(await record_intake(uow, r))
    engine, writer, committer = await _sqlite_gateway_db(tmp_path / "fast.db")
    await committer.start()
    try:
        fast = await asyncio.gather(*(committer.submit(r) for r in reqs))
    finally:
        await committer.stop()
    assert [(r.created, r.response, r.queued) for r in fast] == [
        (r.created, r.response, r.queued) for r in slow
    ]
    assert [r.body for r in fast] == [pydantic_core.to_json(r.response).decode() for r in slow]
    assert _raw_rows(tmp_path / "fast.db") == _raw_rows(tmp_path / "slow.db")
    # jobs: three bookings and the self-pickup's code (issue 15)
    assert [len(x) for x in _raw_rows(tmp_path / "fast.db").values()] == [5, 6, 4]
    for r in reqs:
        reads = []
        for e in (slow_engine, engine):
            async with e.connect() as conn:
                reads.append(
                    (
                        await SqlDispatches(conn).get(r.dispatch.id),
                        await SqlDispatches(conn).events(r.dispatch.id),
                    )
                )
        assert reads[0] == reads[1]
        assert reads[1][0].created_at == r.now.astimezone(UTC) and reads[1][0].created_at.tzinfo is UTC
    writer.dispose()
    await engine.dispose()
    await slow_engine.dispose()


async def test_the_sqlite_fast_path_keeps_intake_semantics(tmp_path):
    engine, writer, committer = await _sqlite_gateway_db(tmp_path / "g.db")
    async with unit_of_work_factory(engine)() as uow:
        await record_intake(uow, req(make_dispatch("S0")))
    await committer.start()
    try:
        dups = await asyncio.gather(*(committer.submit(req(make_dispatch("S1"))) for _ in range(20)))
        mixed = await asyncio.gather(
            committer.submit(req(make_dispatch("S0"))),
            committer.submit(req(make_dispatch("S0"), "other")),
            committer.submit(req(make_dispatch("S2"))),
            committer.submit(req(make_dispatch("S2"), "other")),
            committer.submit(req(make_dispatch("S1"))),
            return_exceptions=True,
        )
    finally:
        await committer.stop()
    assert sum(r.created for r in dups) == 1 and len({r.response["id"] for r in dups}) == 1
    assert [getattr(r, "created", None) for r in mixed] == [False, None, True, None, False]
    assert isinstance(mixed[1], Conflict) and isinstance(mixed[3], Conflict)
    assert mixed[4].response == dups[0].response
    assert await count(engine, dispatches) == 3
    assert await count(engine, jobs) == 3
    writer.dispose()
    await engine.dispose()


async def test_the_sqlite_fast_path_falls_back_when_another_process_took_the_case(tmp_path, monkeypatch):
    """Another process inserts a case between our read and our insert: the batch fails on the unique
    key, and each request is then recorded alone (a replay or a conflict, never a second dispatch)."""
    engine, writer, committer = await _sqlite_gateway_db(tmp_path / "g.db")
    other = make_dispatch("P1")
    real = committer.fast.rows.stored_cases

    def stale_read(dbapi, keys):
        return {k: v for k, v in real(dbapi, keys).items() if k != (other.client_id, other.case_no)}

    async with unit_of_work_factory(engine)() as uow:
        first = await record_intake(uow, req(other))
    monkeypatch.setattr(committer.fast.rows, "stored_cases", stale_read)
    await committer.start()
    try:
        outcomes = await asyncio.gather(
            committer.submit(req(make_dispatch("P1"))),
            committer.submit(req(make_dispatch("P2"))),
            return_exceptions=True,
        )
    finally:
        await committer.stop()
    assert (outcomes[0].created, outcomes[0].response) == (False, first.response)
    assert outcomes[1].created
    assert await count(engine, dispatches) == 2
    assert await count(engine, jobs) == 2
    writer.dispose()
    await engine.dispose()


async def test_the_sqlite_fast_path_answers_only_after_the_wal_is_fsynced(tmp_path, monkeypatch):
    """The batch commits with synchronous=NORMAL (to the OS only); nobody is answered before one
    fsync of the WAL, which is what makes the 201 durable."""
    import threading

    from logistics.storage.sqlite import writer as sqlite_writer

    synced, release = [], threading.Event()

    def slow_fsync(path):
        release.wait(5)
        synced.append(path)

    monkeypatch.setattr(sqlite_writer, "_fsync", slow_fsync)
    engine, _, committer = await _sqlite_gateway_db(tmp_path / "g.db")
    await committer.start()
    try:
        pending = asyncio.ensure_future(committer.submit(req(make_dispatch("W1"))))
        await asyncio.sleep(0.2)
        assert not pending.done()  # committed, but not yet answered
        with sqlite3.connect(tmp_path / "g.db") as db:
            assert db.execute("SELECT count(*) FROM dispatches").fetchone() == (1,)
        release.set()
        assert (await asyncio.wait_for(pending, 5)).created
    finally:
        release.set()
        await committer.stop()
    assert synced and synced[0] == f"{tmp_path / 'g.db'}-wal"
    await engine.dispose()


async def test_the_next_batch_is_written_during_an_fsync_and_answered_after_its_own(tmp_path, monkeypatch):
    """While one batch's fsync runs, the next batch is already committed (to the OS), but it is only
    answered after an fsync that started once its COMMIT was done."""
    import threading

    from logistics.storage.sqlite import writer as sqlite_writer

    started, gates = [], [threading.Event(), threading.Event()]

    def slow_fsync(path):
        n = len(started)
        started.append(path)
        gates[min(n, 1)].wait(5)

    monkeypatch.setattr(sqlite_writer, "_fsync", slow_fsync)
    engine, _, committer = await _sqlite_gateway_db(tmp_path / "g.db")

    def stored() -> int:
        with sqlite3.connect(tmp_path / "g.db") as db:
            return db.execute("SELECT count(*) FROM dispatches").fetchone()[0]

    await committer.start()
    try:
        first = asyncio.ensure_future(committer.submit(req(make_dispatch("N1"))))
        await asyncio.sleep(0.2)
        second = asyncio.ensure_future(committer.submit(req(make_dispatch("N2"))))
        await asyncio.sleep(0.2)
        assert len(started) == 1 and stored() == 2  # N2 written while N1's fsync runs
        assert not first.done() and not second.done()
        gates[0].set()
        assert (await asyncio.wait_for(first, 5)).created
        await asyncio.sleep(0.2)
        assert len(started) == 2 and not second.done()  # its own fsync, started after N1's
        gates[1].set()
        assert (await asyncio.wait_for(second, 5)).created
    finally:
        for gate in gates:
            gate.set()
        await committer.stop()
    await engine.dispose()


async def test_the_sqlite_fast_path_waits_for_another_writer_without_blocking_the_loop(tmp_path, monkeypatch):
    """Another connection holds the write lock: the batch waits its turn asynchronously (no busy
    handler sleeping on the loop's thread, no falling back to one transaction per item)."""
    engine, _, committer = await _sqlite_gateway_db(tmp_path / "g.db")

    async def no_fallback(items, futures):
        raise AssertionError("fell back to one by one")

    monkeypatch.setattr(committer, "_one_by_one", no_fallback)
    other = sqlite3.connect(tmp_path / "g.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    await committer.start()
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    clock = asyncio.ensure_future(ticker())
    try:
        pending = asyncio.gather(*(committer.submit(req(make_dispatch(f"L{i}"))) for i in range(3)))
        await asyncio.sleep(0.3)
        assert not pending.done() and ticks > 20  # waiting, and the loop keeps running
        other.execute("COMMIT")
        results = await asyncio.wait_for(pending, 5)
    finally:
        clock.cancel()
        other.close()
        await committer.stop()
    assert all(r.created for r in results)
    assert await count(engine, dispatches) == 3
    await engine.dispose()


async def test_the_sqlite_fast_path_gets_its_turn_beside_busy_writers_of_this_process(tmp_path, monkeypatch):
    """Booking writes all the time through the async engine; each of its writers hands the gate on
    before its COMMIT has synced. The intake batch must wait for that COMMIT, not lose its turn to the
    next writer again and again until it falls back to one transaction per item."""
    engine, _, committer = await _sqlite_gateway_db(tmp_path / "g.db")

    async def no_fallback(items, futures):
        raise AssertionError("fell back to one by one")

    monkeypatch.setattr(committer, "_one_by_one", no_fallback)
    busy = True

    async def booking_like_writer(n: int):
        i = 0
        while busy:
            async with engine.begin() as conn:
                await conn.execute(
                    jobs.insert().values(
                        kind="noise", payload={}, dedupe_key=f"noise-{n}-{i}", state="done", attempts=0,
                        max_attempts=1, run_after=NOW, created_at=NOW, updated_at=NOW,
                    )
                )  # fmt: skip
            i += 1

    writers = [asyncio.ensure_future(booking_like_writer(n)) for n in range(3)]
    await committer.start()
    try:
        await asyncio.sleep(0.2)
        for round_ in range(5):
            batch = [req(make_dispatch(f"B{round_}-{i}")) for i in range(10)]
            results = await asyncio.wait_for(asyncio.gather(*(committer.submit(r) for r in batch)), 10)
            assert all(r.created for r in results)
    finally:
        busy = False
        await asyncio.gather(*writers)
        await committer.stop()
    assert await count(engine, dispatches) == 50
    await engine.dispose()


async def test_moves_are_optimistic_and_audited(engine):
    d = make_dispatch("C5")
    await intake(engine, d)
    later = NOW + timedelta(minutes=1)
    async with engine.begin() as conn:
        booked = await dispatch_service.move(
            SqlUnitOfWork.on(conn),
            d,
            Status.BOOKED,
            at=later,
            actor="system",
            cause="booked",
            waybill_no="1100000000111",
        )
    with pytest.raises(Conflict):  # a stale copy cannot overwrite the newer state
        async with engine.begin() as conn:
            await dispatch_service.move(
                SqlUnitOfWork.on(conn), d, Status.BOOKING_FAILED, at=later, actor="system", cause="x"
            )
    async with engine.connect() as conn:
        stored = await SqlDispatches(conn).get(d.id)
        trail = await SqlDispatches(conn).events(d.id)
    assert (stored.status, stored.waybill_no) == (Status.BOOKED, booked.waybill_no)
    assert [e.to_status for e in trail] == [Status.RECEIVED, Status.BOOKED]


async def test_cancel_before_booking_is_local_after_booking_needs_the_carrier(engine):
    a, b = make_dispatch("C6"), make_dispatch("C7")
    await intake(engine, a)
    await intake(engine, b)
    async with engine.begin() as conn:
        await dispatch_service.move(
            SqlUnitOfWork.on(conn), b, Status.BOOKED, at=NOW, actor="s", cause="c", waybill_no="1100000000222"
        )
    assert (
        await dispatch_service.cancel(unit_of_work_factory(engine)(), a.id, actor="staff:x", now=NOW)
    ).status is Status.CANCELLED
    assert (
        await dispatch_service.cancel(unit_of_work_factory(engine)(), b.id, actor="staff:x", now=NOW)
    ).status is Status.BOOKED
    async with engine.connect() as conn:
        kinds = sorted(k for k in await conn.scalars(select(jobs.c.kind)) if k in ("book", "cancel"))
    assert kinds == ["book", "book", "cancel"]


async def test_search_by_status_and_number(engine):
    for i in range(3):
        await intake(engine, make_dispatch(f"S{i}"))
    async with engine.connect() as conn:
        found, total = await SqlDispatches(conn).search(status="received")
        by_case, _ = await SqlDispatches(conn).search(q="S1")
    assert total == 3 and len(found) == 3
    assert [d.case_no for d in by_case] == ["S1"]


async def test_a_writer_cancelled_mid_statement_leaves_the_write_gate_free(tmp_path):
    """A task cancelled inside a write transaction (a worker stopped mid-claim) invalidates its
    connection; its rollback must still hand the write gate on, or every later write would wait."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/g.db")
    await upgrade(engine)
    slow_statement = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
        "SELECT count(*) FROM n"
    )
    for delay in (0.0, 0.001, 0.005, 0.02, 0.05):

        async def writer():
            async with engine.begin() as conn:
                await conn.exec_driver_sql(slow_statement)

        task = asyncio.ensure_future(writer())
        await asyncio.sleep(delay)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        async with asyncio.timeout(10):  # the gate is free again
            await intake(engine, make_dispatch(f"G{delay}"))
    assert await count(engine, dispatches) == 5
    await engine.dispose()
