"""Polling through the queue with a fake carrier, one scheduler among several instances, the staff's
exceptions queue and the citizen lookup, on a real database."""

import asyncio
from datetime import timedelta

from logistics import bootstrap
from logistics.config import Settings
from logistics.domain.status import Status
from logistics.jobs import queue
from logistics.jobs.scheduler import LeasedScheduler, take_lease
from logistics.service import citizen, polling, tracking
from logistics.service.exceptions_queue import list_exceptions
from logistics.service.job_contract import TRACK_POLL, Job
from logistics.storage.job_repo import SqlJobs
from logistics.storage.tracking import SqlCitizenLookup, SqlTrackingRecords
from logistics.storage.unit_of_work import SqlUnitOfWork, unit_of_work_factory

from .kit import NOW, FakeClock, booked_dispatch, jobs_of, scan, status_of

S = Status


class FakeCarrier:
    name = "fake"

    def __init__(self):
        self.scans: dict[str, list] = {}
        self.calls: list[str] = []

    async def track(self, waybill_no):
        self.calls.append(waybill_no)
        return self.scans.get(waybill_no, [])


async def run_poll_jobs(deps, engine):
    for job in await jobs_of(engine, TRACK_POLL):
        if job.state == queue.PENDING:
            await polling.handle_poll(Job(job.id, job.kind, job.payload, 1, 3, ""), deps)
            async with engine.begin() as conn:
                await conn.execute(
                    queue.jobs.update().where(queue.jobs.c.id == job.id).values(state=queue.DONE)
                )


async def test_due_parcels_are_polled_in_batches_and_rescheduled_by_their_status(engine):
    clock, carrier = FakeClock(), FakeCarrier()
    deps = bootstrap.deps(
        Settings(poll_batch=2, poll_first_s=600), engine=engine, clock=clock, carrier=carrier
    )
    wbs = [f"11000000001{i}3" for i in range(3)]
    ids = [(await booked_dispatch(engine, f"P{i}", wb)).id for i, wb in enumerate(wbs)]
    assert await polling.schedule_due(deps) == 0  # pushes get the first ten minutes
    clock.t = NOW + timedelta(minutes=11)
    carrier.scans[wbs[0]] = [scan(S.OUT_FOR_DELIVERY, 5, wbs[0])]
    carrier.scans[wbs[1]] = [scan(S.DELIVERED, 5, wbs[1])]
    assert await polling.schedule_due(deps) == 3
    assert await polling.schedule_due(deps) == 0  # queued ones are not queued twice
    assert len(await jobs_of(engine, TRACK_POLL)) == 2
    await run_poll_jobs(deps, engine)
    assert sorted(carrier.calls) == wbs
    assert [await status_of(engine, i) for i in ids] == [S.OUT_FOR_DELIVERY, S.DELIVERED, S.BOOKED]
    async with engine.connect() as conn:
        states = await SqlTrackingRecords(conn).get_many(wbs)
    gaps = [
        (states[wb].next_poll_at - clock.t).total_seconds() if states[wb].next_poll_at else None for wb in wbs
    ]
    assert gaps == [deps.settings.poll_out_for_delivery_s, None, deps.settings.poll_not_collected_s]
    assert not states[wbs[1]].active


async def test_only_one_instance_holds_the_scheduler_lease_until_it_lapses(engine):
    async with engine.begin() as conn:
        assert await take_lease(conn, "scheduler", "a", now=NOW, lease_s=30)
        assert not await take_lease(conn, "scheduler", "b", now=NOW + timedelta(seconds=10), lease_s=30)
        assert await take_lease(conn, "scheduler", "a", now=NOW + timedelta(seconds=20), lease_s=30)
        assert await take_lease(conn, "scheduler", "b", now=NOW + timedelta(seconds=51), lease_s=30)


async def test_of_two_schedulers_only_the_leader_ticks_and_the_other_takes_over_when_it_stops(engine):
    ticks = {"a": 0, "b": 0}
    schedulers = {}
    for name in ticks:
        s = LeasedScheduler(engine, FakeClock(NOW), lease_s=30)

        async def tick(name=name):
            ticks[name] += 1

        s.every("t", 0.05, tick)
        schedulers[name] = s
        await s.start()
    try:
        await asyncio.sleep(0.4)
        assert (ticks["a"] > 0) != (ticks["b"] > 0)
        leader = "a" if ticks["a"] else "b"
        other = "b" if leader == "a" else "a"
        await schedulers[leader].stop()
        assert await schedulers[other].renew()
        await asyncio.sleep(0.3)
        assert ticks[other] > 0
    finally:
        for s in schedulers.values():
            await s.stop()


async def test_staff_see_stuck_failed_and_dead_lettered_work_with_reason_and_age(engine):
    stuck = await booked_dispatch(engine, "S1", "1100000000213")
    failed = await booked_dispatch(engine, "S2", "1100000000313")
    uow = unit_of_work_factory(engine)
    await tracking.record(uow(), [scan(S.HANDED_OVER, 1, stuck.waybill_no)], now=NOW, source="poll")
    await tracking.record(
        uow(), [scan(S.DELIVERY_FAILED, 2, failed.waybill_no, text="地址不详")], now=NOW, source="poll"
    )
    async with engine.begin() as conn:
        await SqlJobs(conn).enqueue("callback", {"notice_id": "x"}, now=NOW)
        [job] = await queue.claim(conn, worker="w", now=NOW, lease_s=5, kinds=["callback"])
        await SqlJobs(conn).fail(job, "HTTP 503", worker="w", now=NOW, permanent=True)
    async with engine.connect() as conn:
        items = await list_exceptions(SqlUnitOfWork.on(conn), now=NOW + timedelta(days=4), stuck_days=3)
    by_kind = {i["kind"]: i for i in items}
    assert by_kind["stuck"]["dispatch_id"] == stuck.id and by_kind["stuck"]["age_s"] > 3 * 86400
    assert by_kind["delivery_failed"]["reason"] == "地址不详"
    assert by_kind["dead_job"]["reason"] == "HTTP 503" and by_kind["dead_job"]["job_id"] == job.id


async def test_a_citizen_sees_masked_data_and_the_same_nothing_for_a_wrong_phone_or_number(engine):
    d = await booked_dispatch(engine)
    uow = unit_of_work_factory(engine)
    await tracking.record(
        uow(),
        [scan(S.DELIVERED, 3, text="王小明本人签收"), scan(S.HANDED_OVER, 1)],
        now=NOW,
        source="push",
    )
    found = await citizen.lookup(uow(read_only=True), phone_last4="1234", waybill_no=d.waybill_no)
    by_case = await citizen.lookup(uow(read_only=True), phone_last4="1234", case_no=d.case_no)
    wrong = await citizen.lookup(uow(read_only=True), phone_last4="9999", waybill_no=d.waybill_no)
    unknown = await citizen.lookup(uow(read_only=True), phone_last4="1234", waybill_no="1199999999936")
    assert found == by_case and wrong is None and unknown is None
    # The web's path (on SQLite a read on the loop's own thread) answers the same.
    lookup = SqlCitizenLookup(engine)
    assert await citizen.find(lookup, phone_last4="1234", waybill_no=d.waybill_no) == found
    assert await citizen.find(lookup, phone_last4="1234", case_no=d.case_no) == found
    assert await citizen.find(lookup, phone_last4="9999", case_no=d.case_no) is None
    assert found["status"] == "delivered" and found["status_text"] == "已签收"
    assert "王小明" not in str(found) and "13807961234" not in str(found)
    assert found["events"][0]["description"] == "王*明本人签收"
    assert [e["status"] for e in found["events"]] == ["delivered", "handed_over"]  # newest first
    assert found["events"][1]["time"] == "2026-11-05T10:01:00+08:00"
    assert found["recipient"] == {"name": "王*明", "phone": "138******34"}


async def test_batches_finishing_together_are_stored_together_and_each_job_learns_its_outcome(engine):
    clock, carrier = FakeClock(NOW + timedelta(minutes=11)), FakeCarrier()
    deps = bootstrap.deps(Settings(poll_batch=1), engine=engine, clock=clock, carrier=carrier)
    wbs = [f"11000000004{i}3" for i in range(3)]
    ids = [(await booked_dispatch(engine, f"G{i}", wb)).id for i, wb in enumerate(wbs)]
    for wb in wbs:
        carrier.scans[wb] = [scan(S.HANDED_OVER, 1, wb), scan(S.IN_TRANSIT, 2, wb)]
    poll = polling.job_handlers(deps)[TRACK_POLL]
    jobs = [Job(i, TRACK_POLL, {"waybills": [wb]}, 1, 3, "") for i, wb in enumerate(wbs)]
    await asyncio.gather(*(poll(job) for job in jobs))
    assert [await status_of(engine, i) for i in ids] == [S.IN_TRANSIT] * 3
    async with engine.connect() as conn:
        states = await SqlTrackingRecords(conn).get_many(wbs)
    assert all(s.polls == 1 and s.next_poll_at is not None for s in states.values())


async def test_a_counter_pickup_names_the_hall_s_counter_not_ems_as_who_brings_it(engine):
    from logistics.domain.model import DeliveryMethod, Direction
    from logistics.service.dispatches import move
    from logistics.service.views import dispatch_json
    from logistics.storage.dispatch_repo import SqlDispatches
    from tests.fixtures.dispatches import make_dispatch

    pickup = make_dispatch("AF-PICK", delivery_method=DeliveryMethod.PICKUP)
    inbound = make_dispatch("AF-IN", direction=Direction.INBOUND)
    async with engine.begin() as conn:
        for d in (pickup, inbound):
            await SqlDispatches(conn).insert_new(d, request_hash="h-" + d.case_no, response=dispatch_json(d))
        await move(
            SqlUnitOfWork.on(conn), pickup, Status.AWAITING_PICKUP, at=NOW, actor="test", cause="at the hall"
        )
    await booked_dispatch(engine)
    found = {
        case_no: await citizen.find(SqlCitizenLookup(engine), phone_last4="1234", case_no=case_no)
        for case_no in ("AF-PICK", "AF-IN", "AF-T1")
    }
    reads = unit_of_work_factory(engine)(read_only=True)
    assert await citizen.lookup(reads, phone_last4="1234", case_no="AF-PICK") == found["AF-PICK"]
    assert found["AF-PICK"]["carrier"] == "大厅窗口自取" and "EMS" not in str(found["AF-PICK"])
    assert found["AF-IN"]["carrier"] == found["AF-T1"]["carrier"] == "中国邮政 EMS"
