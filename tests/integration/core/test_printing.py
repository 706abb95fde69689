"""Printing labels and manifests on a real database (SQLite file, and PostgreSQL when configured)."""

import asyncio
import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest

from logistics.domain.errors import InvalidInput
from logistics.domain.status import Status
from logistics.service import dispatches as dispatch_service
from logistics.service import printing
from logistics.service.intake import IntakeRequest, record_intake
from logistics.storage.dispatch_repo import SqlDispatches
from logistics.storage.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from tests.fixtures.dispatches import NOW, make_dispatch

ACTOR = "staff:li"
WAYBILLS = (f"1190000{n:06d}" for n in itertools.count(1))


async def stored(engine, case_no, status=Status.BOOKED):
    """A dispatch in `status`, with a waybill number when it is booked or later."""
    d = make_dispatch(case_no)
    async with engine.begin() as conn:
        await record_intake(SqlUnitOfWork.on(conn), IntakeRequest(d, case_no, NOW, False, 5))
        d = await dispatch_service.load(SqlUnitOfWork.on(conn), d.id)
        path = {
            Status.RECEIVED: [],
            Status.BOOKED: [Status.BOOKED],
            Status.CANCELLED: [Status.CANCELLED],
            Status.IN_TRANSIT: [Status.BOOKED, Status.IN_TRANSIT],
        }[status]
        for step in path:
            extra = {"waybill_no": next(WAYBILLS)} if step is Status.BOOKED else {}
            d = await dispatch_service.move(
                SqlUnitOfWork.on(conn), d, step, at=NOW, actor="test", cause="setup", **extra
            )
    return d


class FakeRender:
    """Records what it was asked to render and on which thread."""

    def __init__(self):
        self.calls: list[list[str]] = []
        self.threads: list[int] = []

    def __call__(self, dispatches):
        self.calls.append([d.case_no for d in dispatches])
        self.threads.append(threading.get_ident())
        return ("|".join(d.case_no for d in dispatches)).encode()


async def state(engine, d):
    async with engine.connect() as conn:
        return await SqlDispatches(conn).get(d.id), await SqlDispatches(conn).events(d.id)


def causes(events):
    return [e.cause for e in events if e.actor == ACTOR]


async def test_first_print_moves_to_label_printed_once_and_reprints_are_audited(engine):
    d = await stored(engine, "P1")
    render = FakeRender()
    for _ in range(3):
        assert (
            await printing.print_label(unit_of_work_factory(engine), d.id, render, actor=ACTOR, now=NOW)
            == b"P1"
        )
    after, events = await state(engine, d)
    assert after.status is Status.LABEL_PRINTED
    assert causes(events) == ["label printed", "label reprinted", "label reprinted"]
    moved = [e for e in events if e.cause == "label printed"]
    assert [(e.from_status, e.to_status) for e in moved] == [(Status.BOOKED, Status.LABEL_PRINTED)]
    assert threading.get_ident() not in render.threads  # rendered off the event loop


async def test_a_reprint_after_handover_keeps_the_status(engine):
    d = await stored(engine, "P2", Status.IN_TRANSIT)
    await printing.print_label(unit_of_work_factory(engine), d.id, FakeRender(), actor=ACTOR, now=NOW)
    after, events = await state(engine, d)
    assert after.status is Status.IN_TRANSIT and causes(events) == ["label reprinted"]


async def test_a_batch_renders_in_the_given_order_and_records_each(engine):
    ds = [await stored(engine, f"B{i}") for i in range(4)]
    await printing.print_label(unit_of_work_factory(engine), ds[2].id, FakeRender(), actor=ACTOR, now=NOW)
    render = FakeRender()
    order = [ds[3], ds[0], ds[2], ds[1]]
    await printing.print_labels(
        unit_of_work_factory(engine), [d.id for d in order], render, actor=ACTOR, now=NOW
    )
    assert render.calls == [["B3", "B0", "B2", "B1"]]
    for d in ds:
        after, events = await state(engine, d)
        assert after.status is Status.LABEL_PRINTED
        expected = ["label printed", "label reprinted"] if d is ds[2] else ["label printed"]
        assert causes(events) == expected


@pytest.mark.parametrize("bad_status", [Status.RECEIVED, Status.CANCELLED])
async def test_a_batch_with_an_unbooked_dispatch_prints_and_records_nothing(engine, bad_status):
    good, bad = await stored(engine, "G1"), await stored(engine, "X1", bad_status)
    render = FakeRender()
    with pytest.raises(printing.NotBooked) as refused:
        await printing.print_labels(
            unit_of_work_factory(engine), [good.id, bad.id], render, actor=ACTOR, now=NOW
        )
    assert [d.id for d in refused.value.refused] == [bad.id]
    assert "X1" in str(refused.value) and "G1" not in str(refused.value)
    assert render.calls == []
    after, events = await state(engine, good)
    assert after.status is Status.BOOKED and causes(events) == []


async def test_a_single_unbooked_label_is_refused(engine):
    d = await stored(engine, "R1", Status.RECEIVED)
    with pytest.raises(printing.NotBooked, match="运单号"):
        await printing.print_label(unit_of_work_factory(engine), d.id, FakeRender(), actor=ACTOR, now=NOW)


async def test_a_dispatch_cancelled_while_rendering_rolls_back_the_whole_batch(engine):
    a, b = await stored(engine, "C1"), await stored(engine, "C2")

    def render_then_cancel(dispatches):
        asyncio.run_coroutine_threadsafe(cancel(b), loop).result()
        return b"pdf"

    async def cancel(d):
        async with engine.begin() as conn:
            current = await dispatch_service.load(SqlUnitOfWork.on(conn), d.id)
            await dispatch_service.move(
                SqlUnitOfWork.on(conn), current, Status.CANCELLED, at=NOW, actor="x", cause="x"
            )

    loop = asyncio.get_running_loop()
    with pytest.raises(printing.NotBooked):
        await printing.print_labels(
            unit_of_work_factory(engine), [a.id, b.id], render_then_cancel, actor=ACTOR, now=NOW
        )
    after, events = await state(engine, a)
    assert after.status is Status.BOOKED and causes(events) == []


@pytest.mark.parametrize(
    ("ids", "fields"),
    [
        (lambda known: [known, "no-such-id", known + "x"], ["ids.1", "ids.2"]),
        (lambda known: [known, "other", known], ["ids.2"]),
        (lambda known: [], ["ids"]),
        (lambda known: [f"id-{i}" for i in range(printing.MAX_BATCH + 1)], ["ids"]),
    ],
    ids=["unknown", "duplicate", "empty", "too-many"],
)
async def test_bad_batches_name_the_field(engine, ids, fields):
    known = await stored(engine, "V1")
    with pytest.raises(InvalidInput) as bad:
        await printing.print_labels(
            unit_of_work_factory(engine), ids(known.id), FakeRender(), actor=ACTOR, now=NOW
        )
    assert [f for f, _ in bad.value.errors] == fields


async def test_concurrent_first_prints_record_one_move_and_the_rest_as_reprints(engine):
    d = await stored(engine, "CC1")
    await asyncio.gather(
        *(
            printing.print_label(unit_of_work_factory(engine), d.id, FakeRender(), actor=ACTOR, now=NOW)
            for _ in range(6)
        )
    )
    after, events = await state(engine, d)
    assert after.status is Status.LABEL_PRINTED
    assert sorted(causes(events)) == ["label printed"] + ["label reprinted"] * 5


async def test_manifest_then_confirm_hands_the_parcels_over_to_the_courier(engine):
    ds = [await stored(engine, f"M{i}") for i in range(3)]
    await printing.print_label(unit_of_work_factory(engine), ds[0].id, FakeRender(), actor=ACTOR, now=NOW)
    render = FakeRender()
    ids = [d.id for d in ds]
    manifest = await printing.print_manifest(
        unit_of_work_factory(engine), ids, render, courier="张师傅", actor=ACTOR, now=NOW
    )
    assert manifest.content == b"M0|M1|M2" and manifest.manifest_id.startswith("MF20261105-")
    later = NOW + timedelta(minutes=5)
    handover = await printing.confirm_handover(
        unit_of_work_factory(engine),
        ids,
        courier="张师傅",
        manifest_id=manifest.manifest_id,
        actor=ACTOR,
        now=later,
    )
    assert [d.id for d in handover.handed_over] == ids and handover.skipped == []
    for d in ds:
        after, events = await state(engine, d)
        assert after.status is Status.HANDED_OVER
        move = next(e for e in events if e.to_status is Status.HANDED_OVER and e.from_status != e.to_status)
        assert move.actor == ACTOR and move.at == later
        confirmed = next(e for e in events if e.cause == "handover confirmed")
        assert confirmed.detail == {"courier": "张师傅", "manifest_id": manifest.manifest_id}
        printed = next(e for e in events if e.cause == "manifest printed")
        assert printed.detail["manifest_id"] == manifest.manifest_id


def test_a_manifest_id_carries_the_hall_s_date_in_china_time():
    after_midnight_in_china = datetime(2026, 11, 5, 17, 30, tzinfo=UTC)  # 01:30 on 6 November
    assert printing.new_manifest_id(after_midnight_in_china).startswith("MF20261106-")
    assert printing.new_manifest_id(datetime(2026, 11, 5, 15, 59, tzinfo=UTC)).startswith("MF20261105-")


async def test_confirm_skips_and_reports_parcels_already_handed_over(engine):
    done, moving, fresh = (
        await stored(engine, "H1"),
        await stored(engine, "H2", Status.IN_TRANSIT),
        await stored(engine, "H3"),
    )
    kw = dict(courier="张师傅", manifest_id=None, actor=ACTOR, now=NOW)
    await printing.confirm_handover(unit_of_work_factory(engine), [done.id], **kw)
    handover = await printing.confirm_handover(
        unit_of_work_factory(engine), [done.id, moving.id, fresh.id], **kw
    )
    assert [d.id for d in handover.handed_over] == [fresh.id]
    assert [(d.id, d.status) for d in handover.skipped] == [
        (done.id, Status.HANDED_OVER),
        (moving.id, Status.IN_TRANSIT),
    ]
    _, events = await state(engine, done)
    assert causes(events) == ["handed over", "handover confirmed"]  # the second confirm wrote nothing


async def test_confirm_with_an_unbooked_dispatch_moves_nothing(engine):
    good, bad = await stored(engine, "N1"), await stored(engine, "N2", Status.RECEIVED)
    with pytest.raises(printing.NotBooked):
        await printing.confirm_handover(
            unit_of_work_factory(engine),
            [good.id, bad.id],
            courier="张师傅",
            manifest_id=None,
            actor=ACTOR,
            now=NOW,
        )
    after, _ = await state(engine, good)
    assert after.status is Status.BOOKED
