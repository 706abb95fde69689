"""Carrier scans on a real database: stored once, applied forward only, with notices set off once."""

from sqlalchemy import select

from logistics.domain.status import Status
from logistics.service import tracking
from logistics.storage.dispatch_repo import SqlDispatches
from logistics.storage.tracking import SqlTrackingRecords
from logistics.storage.tracking_tables import carrier_events
from logistics.storage.unit_of_work import unit_of_work_factory

from .kit import NOW, booked_dispatch, notices_of, scan, status_of

S = Status
KNOWN = frozenset({"203", "305", "702", "704", "705", "714"})


async def record(engine, events, source="push"):
    uow = unit_of_work_factory(engine)()
    return await tracking.record(uow, events, now=NOW, source=source, known_codes=KNOWN)


async def test_scans_in_order_walk_the_dispatch_to_delivered_with_one_audit_line_per_move(engine):
    d = await booked_dispatch(engine)
    steps = [scan(S.HANDED_OVER, 1), scan(S.IN_TRANSIT, 2), scan(S.IN_TRANSIT, 3, code="954"),
             scan(S.OUT_FOR_DELIVERY, 4), scan(S.DELIVERED, 5)]  # fmt: skip
    for step in steps:
        await record(engine, [step])
    assert await status_of(engine, d.id) is S.DELIVERED
    async with engine.connect() as conn:
        trail = [e.to_status for e in await SqlDispatches(conn).events(d.id) if e.actor.startswith("carrier")]
        state = await SqlTrackingRecords(conn).get(d.waybill_no)
    assert trail == [S.HANDED_OVER, S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED]
    assert not state.active and state.applied_at == steps[-1].time


async def test_duplicates_and_late_scans_are_stored_but_never_move_a_dispatch_backwards(engine):
    d = await booked_dispatch(engine)
    delivered = scan(S.DELIVERED, 50)
    await record(engine, [scan(S.HANDED_OVER, 1), delivered])
    result = await record(engine, [delivered, scan(S.HANDED_OVER, 1)])  # pushed again
    assert (result.new, result.duplicates, result.moves) == (0, 2, 0)
    late = await record(engine, [scan(S.IN_TRANSIT, 60), scan(S.OUT_FOR_DELIVERY, 40)])
    assert (late.new, late.moves) == (2, 0)
    assert await status_of(engine, d.id) is S.DELIVERED
    async with engine.connect() as conn:
        rows = list(await conn.execute(select(carrier_events).order_by(carrier_events.c.time)))
    assert [(r.raw_code, r.applied) for r in rows] == [
        ("203", True),
        ("702", False),
        ("704", True),
        ("305", False),
    ]


async def test_a_batch_out_of_order_is_applied_in_time_order(engine):
    d = await booked_dispatch(engine)
    await record(engine, [scan(S.OUT_FOR_DELIVERY, 30), scan(S.HANDED_OVER, 1), scan(S.IN_TRANSIT, 10)])
    assert await status_of(engine, d.id) is S.OUT_FOR_DELIVERY
    await record(engine, [scan(S.IN_TRANSIT, 20)])  # older than out-for-delivery: ignored
    assert await status_of(engine, d.id) is S.OUT_FOR_DELIVERY


async def test_a_failed_delivery_keeps_its_reason_and_a_second_attempt_can_still_deliver(engine):
    d = await booked_dispatch(engine)
    await record(engine, [scan(S.OUT_FOR_DELIVERY, 1), scan(S.DELIVERY_FAILED, 2, text="收件人不在")])
    async with engine.connect() as conn:
        failed = await SqlDispatches(conn).get(d.id)
    assert (failed.status, failed.reason) == (S.DELIVERY_FAILED, "收件人不在")
    await record(engine, [scan(S.OUT_FOR_DELIVERY, 60), scan(S.DELIVERED, 61)])
    assert await status_of(engine, d.id) is S.DELIVERED


async def test_an_unknown_code_falls_back_to_in_transit_and_is_counted(engine):
    d = await booked_dispatch(engine)
    await record(engine, [scan(S.IN_TRANSIT, 1, code="888"), scan(S.IN_TRANSIT, 2, code="888")])
    assert await status_of(engine, d.id) is S.IN_TRANSIT
    async with engine.connect() as conn:
        counters = await SqlTrackingRecords(conn).read_counters()
    assert counters["tracking.unknown_code.888"] == 1 and counters["tracking.unknown_code"] == 1


async def test_scans_for_a_number_not_yet_ours_are_kept_and_applied_once_it_is(engine):
    await record(engine, [scan(S.HANDED_OVER, 1, waybill_no="1100000000099")])
    d = await booked_dispatch(engine, waybill_no="1100000000099")
    await record(engine, [scan(S.HANDED_OVER, 1, waybill_no="1100000000099")], source="poll")
    assert await status_of(engine, d.id) is S.HANDED_OVER


async def test_each_event_sets_off_one_sms_and_terminal_ones_one_callback_however_often_pushed(engine):
    d = await booked_dispatch(engine)
    events = [scan(S.HANDED_OVER, 1), scan(S.OUT_FOR_DELIVERY, 2), scan(S.DELIVERED, 3)]
    for _ in range(3):
        await record(engine, events)
    assert await notices_of(engine, d.id) == [
        ("callback", "delivered"),
        ("sms", "booked"),
        ("sms", "delivered"),
        ("sms", "out_for_delivery"),
    ]
