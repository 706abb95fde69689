"""Booking in batches (WorkerPool batch handler): every job keeps the outcome it has one by one, and no
dispatch is ever booked twice, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from logistics import bootstrap
from logistics.config import Settings
from logistics.domain.status import Status
from logistics.jobs import queue
from logistics.jobs.worker import WorkerPool
from logistics.ports import Booking, CarrierRejected, CarrierUnavailable, CarrierUnreachable
from logistics.service import booking
from logistics.service.dispatches import load, move
from logistics.service.job_contract import BOOK
from logistics.service.views import dispatch_json
from logistics.storage.dispatch_repo import SqlDispatches
from logistics.storage.job_repo import SqlJobs
from logistics.storage.tables import jobs
from logistics.storage.tracking_tables import notices, tracking
from logistics.storage.unit_of_work import SqlUnitOfWork
from tests.fixtures.dispatches import NOW, make_dispatch


class Clock:
    def __init__(self):
        self.t = NOW

    def now(self):
        return self.t


class Carrier:
    """Books once per order number; some cases are rejected, some always transiently unavailable."""

    name = "fake"

    def __init__(self, *, reject=(), unavailable=(), unreachable=()):
        self.reject, self.unavailable, self.unreachable = set(reject), set(unavailable), set(unreachable)
        self.orders: dict[str, str] = {}
        self.book_calls: list[str] = []
        self.lookups: list[str] = []
        self.case_of: dict[str, str] = {}

    async def find_booking(self, order_no):
        self.lookups.append(order_no)
        await asyncio.sleep(0)
        if order_no in self.orders:
            return Booking(order_no, self.orders[order_no])
        return None

    async def book(self, shipment):
        case = self.case_of[shipment.order_no]
        await asyncio.sleep(0.001)
        if case in self.unreachable:
            raise CarrierUnreachable("connection refused")
        if case in self.unavailable:
            raise CarrierUnavailable("busy", retry_after=30)
        if case in self.reject:
            raise CarrierRejected("地址不可达", code="B01")
        self.book_calls.append(shipment.order_no)
        assert shipment.order_no not in self.orders, "booked twice"
        self.orders[shipment.order_no] = f"11{len(self.orders):011d}"
        return Booking(shipment.order_no, self.orders[shipment.order_no])


async def add(engine, carrier, case_no, *, status=Status.RECEIVED, jobs_for=1, booked_at_carrier=False):
    d = make_dispatch(case_no)
    carrier.case_of[d.order_no] = case_no
    async with engine.begin() as conn:
        await SqlDispatches(conn).insert_new(d, request_hash="h-" + case_no, response=dispatch_json(d))
        if status is not Status.RECEIVED:
            d = await move(SqlUnitOfWork.on(conn), d, Status.BOOKING, at=NOW, actor="test", cause="booking")
        if status is Status.BOOKED:
            d = await move(
                SqlUnitOfWork.on(conn),
                d,
                Status.BOOKED,
                at=NOW,
                actor="test",
                cause="booked",
                waybill_no="1199",
            )
        if status is Status.CANCELLED:
            d = await move(
                SqlUnitOfWork.on(conn), d, Status.CANCELLED, at=NOW, actor="test", cause="cancelled"
            )
        for i in range(jobs_for):
            key = f"book:{d.id}" if i == 0 else None  # a second, older job for the same dispatch
            await SqlJobs(conn).enqueue(BOOK, {"dispatch_id": d.id}, now=NOW, dedupe_key=key, max_attempts=3)
    if booked_at_carrier:  # an earlier run booked it, then crashed before recording
        carrier.orders[d.order_no] = "1100000009999"
    return d


def stack(engine, carrier, **settings):
    deps = bootstrap.deps(
        Settings(database_url="sqlite://", pool_offline=False, **settings),
        engine=engine,
        clock=Clock(),
        carrier=carrier,
    )
    handlers = booking.job_handlers(deps)
    return deps, WorkerPool(
        engine, deps.clock, handlers, batch_handlers=booking.batch_handlers(deps), batch_size=50, lease_s=30
    )


async def status(engine, d):
    async with engine.connect() as conn:
        return await load(SqlUnitOfWork.on(conn), d.id)


async def job_states(engine):
    async with engine.connect() as conn:
        return {
            row.payload["dispatch_id"] + f"#{row.id}": (row.state, row.attempts)
            for row in await conn.execute(select(jobs).where(jobs.c.kind == BOOK))
        }


async def test_a_mixed_batch_settles_each_job_as_one_by_one_would(engine):
    carrier = Carrier(reject={"REJ"}, unavailable={"BUSY"})
    ok = [await add(engine, carrier, f"OK-{i}") for i in range(5)]
    booked = await add(engine, carrier, "BOOKED", status=Status.BOOKED)
    cancelled = await add(engine, carrier, "CANCELLED", status=Status.CANCELLED)
    rejected = await add(engine, carrier, "REJ")
    busy = await add(engine, carrier, "BUSY")
    earlier = await add(engine, carrier, "EARLIER", status=Status.BOOKING, booked_at_carrier=True)
    twice = await add(engine, carrier, "TWICE", jobs_for=2)
    deps, pool = stack(engine, carrier)

    assert await pool.run_batch_once(BOOK) == 12

    for d in [*ok, twice]:
        fresh = await status(engine, d)
        assert fresh.status is Status.BOOKED and fresh.waybill_no == carrier.orders[d.order_no]
    assert (await status(engine, booked)).status is Status.BOOKED
    assert (await status(engine, cancelled)).status is Status.CANCELLED
    assert (await status(engine, rejected)).status is Status.BOOKING_FAILED
    assert "B01" in (await status(engine, rejected)).reason
    assert (await status(engine, busy)).status is Status.BOOKING  # retried later, lookup first
    fresh = await status(engine, earlier)
    assert fresh.status is Status.BOOKED and fresh.waybill_no == "1100000009999"  # found, not booked again
    assert earlier.order_no in carrier.lookups and earlier.order_no not in carrier.book_calls
    assert sorted(carrier.book_calls) == sorted(d.order_no for d in [*ok, twice])  # each once

    states = await job_states(engine)
    by_dispatch: dict[str, list] = {}
    for key, state in states.items():
        by_dispatch.setdefault(key.split("#")[0], []).append(state)
    assert by_dispatch[busy.id] == [(queue.PENDING, 1)]
    # the second waits, spending no attempt (a wait is no failure: it never dead-letters the job)
    assert sorted(by_dispatch[twice.id]) == [(queue.DONE, 1), (queue.PENDING, 0)]
    for d in [*ok, booked, cancelled, rejected, earlier]:
        assert by_dispatch[d.id] == [(queue.DONE, 1)]

    async with engine.connect() as conn:  # booked: tracking starts, one SMS notice and its job each
        assert await conn.scalar(select(func.count()).select_from(tracking)) == 8  # 7 + the one booked before
        sms = list(await conn.scalars(select(notices.c.dispatch_id).where(notices.c.kind == "booked")))
        assert sorted(sms) == sorted({d.id for d in [*ok, twice, earlier, booked]})
        assert await conn.scalar(select(func.count()).where(jobs.c.kind == "sms")) == len(sms)
        trail = await SqlDispatches(conn).events(ok[0].id)
    assert [(e.from_status, e.to_status) for e in trail[-2:]] == [
        (Status.RECEIVED, Status.BOOKING), (Status.BOOKING, Status.BOOKED)
    ]  # fmt: skip
    assert trail[-1].detail["waybill_no"] == carrier.orders[ok[0].order_no]

    # The jobs due again: the duplicate finds its dispatch booked; the busy one looks up first, then
    # gives up on its last attempt (booking_failed, dead letter).
    deps.clock.t = NOW + timedelta(minutes=5)
    while await pool.run_batch_once(BOOK):
        deps.clock.t += timedelta(minutes=5)
    assert (await status(engine, busy)).status is Status.BOOKING_FAILED
    assert busy.order_no in carrier.lookups
    assert {s for s, _ in (await job_states(engine)).values()} == {queue.DONE, queue.DEAD}
    assert sorted(carrier.book_calls) == sorted(d.order_no for d in [*ok, twice])


async def test_an_expired_lease_is_retried_with_a_lookup_and_never_books_twice(engine):
    carrier = Carrier()
    ds = [await add(engine, carrier, f"L-{i}") for i in range(4)]
    deps, pool = stack(engine, carrier)
    # A first worker claimed and moved them to booking, booked two at the carrier, then died.
    async with engine.begin() as conn:
        await queue.claim(conn, worker="dead", now=NOW, lease_s=30, kinds=[BOOK], limit=10)
        for d in ds:
            await move(SqlUnitOfWork.on(conn), d, Status.BOOKING, at=NOW, actor="test", cause="booking")
    for d in ds[:2]:
        carrier.orders[d.order_no] = f"1100000000{d.case_no[-1]}"
    deps.clock.t = NOW + timedelta(seconds=31)
    assert await pool.run_batch_once(BOOK) == 4
    for d in ds:
        fresh = await status(engine, d)
        assert fresh.status is Status.BOOKED and fresh.waybill_no == carrier.orders[d.order_no]
    assert sorted(carrier.lookups) == sorted(d.order_no for d in ds)
    assert sorted(carrier.book_calls) == sorted(d.order_no for d in ds[2:])
    assert {s for s, _ in (await job_states(engine)).values()} == {queue.DONE}


async def test_running_batches_concurrently_books_each_dispatch_once(engine):
    carrier = Carrier(unavailable={"U-1"})
    ds = [await add(engine, carrier, f"C-{i}") for i in range(60)]
    _, pool = stack(engine, carrier)
    pool.batch_size = 7
    await pool.start()
    try:
        for _ in range(200):
            async with engine.connect() as conn:
                left = await conn.scalar(
                    select(func.count()).where(jobs.c.kind == BOOK, jobs.c.state == queue.RUNNING)
                )
                pending = await conn.scalar(
                    select(func.count()).where(jobs.c.kind == BOOK, jobs.c.state == queue.PENDING)
                )
            if not left and pending == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await pool.stop()
    assert sorted(carrier.book_calls) == sorted(d.order_no for d in ds)
    assert len(set(carrier.book_calls)) == len(ds)
    assert {(await status(engine, d)).status for d in ds} == {Status.BOOKED}


class HeldCarrier(Carrier):
    """`fail_first[case]` bookings of a case fail transiently; a case in `held` waits for its event."""

    def __init__(self, *, fail_first: dict[str, int], held: dict[str, asyncio.Event]):
        super().__init__()
        self.fail_first, self.held = dict(fail_first), held

    async def book(self, shipment):
        case = self.case_of[shipment.order_no]
        if case in self.held:
            await self.held[case].wait()
        if self.fail_first.get(case, 0) > 0:
            self.fail_first[case] -= 1
            raise CarrierUnavailable("502", code="502")
        return await super().book(shipment)


async def test_a_job_settled_early_is_booked_when_claimed_again_while_its_batch_still_runs(engine):
    """Issue 14: a job that settles early used to be refused by its own process ("being booked") while
    the rest of its batch ran, spending an attempt each time, until it was dead-lettered with its dispatch
    left in `booking` for good."""
    release = asyncio.Event()
    carrier = HeldCarrier(fail_first={"EARLY": booking.IN_PROCESS_ATTEMPTS}, held={"SLOW": release})
    early = await add(engine, carrier, "EARLY")  # max_attempts=3
    slow = await add(engine, carrier, "SLOW")
    deps, pool = stack(engine, carrier)
    pool.lease_s = 3600  # SLOW's lease outlasts the test's clock moves
    first = asyncio.create_task(pool.run_batch_once(BOOK))  # claims both; SLOW waits at the carrier
    try:
        await _claim_early_again(engine, deps, pool, carrier, early, first)
    finally:
        release.set()
        await first
    assert (await status(engine, slow)).status is Status.BOOKED
    assert {s for s, _ in (await job_states(engine)).values()} == {queue.DONE}
    assert sorted(carrier.book_calls) == sorted([early.order_no, slow.order_no])  # each once


async def _claim_early_again(engine, deps, pool, carrier, early, first):
    for _ in range(200):
        states = await job_states(engine)
        if states[f"{early.id}#1"] == (queue.PENDING, 1):
            break  # EARLY settled (retry later) while its batch still runs
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("EARLY never settled")
    for _ in range(3):  # claimed again by the same process, as often as it has attempts
        deps.clock.t += timedelta(minutes=10)
        await pool.run_batch_once(BOOK)
    assert not first.done()
    fresh = await status(engine, early)
    assert fresh.status is Status.BOOKED, (fresh.status, await job_states(engine))
    assert fresh.waybill_no == carrier.orders[early.order_no]
