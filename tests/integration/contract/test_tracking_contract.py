"""`uow.tracking`: scans stored once (same waybill, code and time), pending scans, the dispatches they
move, poll state, notices once per key, counters and the citizen's read."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from logistics.domain.status import Status
from logistics.ports import TrackEvent
from logistics.ports.repositories.tracking import Notice
from tests.fixtures.dispatches import NOW, make_dispatch

from .conftest import stored

S = Status
WB1, WB2, WB3 = "1100000000013", "1100000000027", "1100000000041"


def scan(minutes: int, status=S.IN_TRANSIT, code="305", waybill_no=WB1) -> TrackEvent:
    return TrackEvent(waybill_no, NOW + timedelta(minutes=minutes), status, code, f"扫描{minutes}", "吉安市")


async def booked(new_uow, case_no: str, waybill_no: str):
    d = make_dispatch(case_no)
    await stored(new_uow, d)
    after, event = d.moved(S.BOOKED, at=NOW, actor="t", cause="booked", waybill_no=waybill_no)
    async with new_uow() as uow:
        assert await uow.dispatches.save_move(d, after, event)
    return after


async def test_a_scan_is_stored_once(new_uow):
    async with new_uow() as uow:
        t = uow.tracking
        new = await t.store_events(
            [scan(1), scan(1), scan(2), scan(1, waybill_no=WB2)], source="push", now=NOW
        )
        assert new == Counter({WB1: 2, WB2: 1})
        assert await t.store_events([scan(1), scan(3), scan(1, code="306")], source="poll", now=NOW) == {
            WB1: 2
        }
        assert await t.insert_events([scan(3), scan(4)], source="poll", now=NOW) == 1
        assert await t.store_events([], source="poll", now=NOW) == Counter()
        stored_scans = await t.events_for(WB1)
    assert [(s.time, s.raw_code) for s in stored_scans] == [
        (NOW + timedelta(minutes=m), code)
        for m, code in ((4, "305"), (3, "305"), (2, "305"), (1, "306"), (1, "305"))
    ]  # newest first, the later-stored first among equal times
    assert (stored_scans[0].status, stored_scans[0].description, stored_scans[0].location) == (
        "in_transit",
        "扫描4",
        "吉安市",
    )


async def test_pending_scans_oldest_first_until_applied(new_uow):
    async with new_uow() as uow:
        t = uow.tracking
        await t.store_events([scan(5), scan(1), scan(3, waybill_no=WB2)], source="push", now=NOW)
        pending = await t.pending_events_many([WB1, WB2, "other"])
        assert {wb: [s.time.minute for s in scans] for wb, scans in pending.items()} == {
            WB1: [1, 5],
            WB2: [3],
        }
        await t.mark_applied([pending[WB1][0].id])
        await t.mark_applied([])
        assert [s.time.minute for s in (await t.pending_events_many([WB1]))[WB1]] == [5]
        assert len(await t.events_for(WB1)) == 2  # applied scans stay on record


async def test_dispatches_by_waybill_and_their_compare_and_set_moves(new_uow):
    a, b = await booked(new_uow, "T1", WB1), await booked(new_uow, "T2", WB2)
    later = NOW + timedelta(hours=1)
    async with new_uow() as uow:
        t = uow.tracking
        found = await t.dispatches_by_waybill([WB1, WB2, "1199999999999"])
        assert {wb: d.id for wb, d in found.items()} == {WB1: a.id, WB2: b.id}
        assert found[WB1] == a
        assert await t.move_dispatches([b.id], from_status="booked", to_status="in_transit", at=NOW) == {b.id}
        moved = await t.move_dispatches(
            [a.id, b.id], from_status="booked", to_status="delivery_failed", at=later, reason="无人"
        )
        assert moved == {a.id}
        a_now, b_now = (await t.dispatches_by_waybill([WB1]))[WB1], await uow.dispatches.get(b.id)
    assert (a_now.status, a_now.reason, a_now.updated_at) == (S.DELIVERY_FAILED, "无人", later)
    assert (b_now.status, b_now.reason) == (S.IN_TRANSIT, "")


MINUTE = timedelta(minutes=1)


async def three_followed(t) -> None:
    """d1 followed from NOW, d2 and d3 from five minutes later."""
    await t.start("d1", WB1, now=NOW)
    await t.start_many([("d2", WB2), ("d3", WB3)], now=NOW + 5 * MINUTE)


async def test_a_parcel_is_followed_once_from_its_first_start(new_uow):
    async with new_uow() as uow:
        t = uow.tracking
        await three_followed(t)
        await t.start("d1", WB1, now=NOW + 60 * MINUTE)  # followed already: kept as it is
        await t.start_many([], now=NOW)
        state = await t.get(WB1)
        assert (state.dispatch_id, state.active, state.started_at, state.polls) == ("d1", True, NOW, 0)
        assert (state.next_poll_at, state.applied_at, state.last_event_at) == (None, None, None)
        assert await t.get("nope") is None
        assert sorted(await t.get_many([WB1, WB2, "nope"])) == [WB1, WB2]
        assert await t.active_count() == 3
        await t.stop("d1")
        stopped = await t.get(WB1)
        assert (stopped.active, stopped.next_poll_at, await t.active_count()) == (False, None, 2)


async def test_due_parcels_are_taken_once_and_held(new_uow):
    async with new_uow() as uow:
        t = uow.tracking
        await three_followed(t)
        at = NOW + 8 * MINUTE  # a first poll comes 6 minutes after the start: only d1 is due
        assert await t.take_due(now=at, limit=10, hold_s=900, first_poll_s=360) == [WB1]
        assert (await t.get(WB1)).next_poll_at == at + timedelta(seconds=900)
        assert await t.take_due(now=at, limit=10, hold_s=900, first_poll_s=360) == []  # held
        assert await t.take_due(now=at + 4 * MINUTE, limit=10, hold_s=900, first_poll_s=360) == [WB2, WB3]


async def test_a_poll_and_progress_are_written_per_parcel(new_uow):
    async with new_uow() as uow:
        t = uow.tracking
        await three_followed(t)
        scan_at, later = NOW + 7 * MINUTE, NOW + 12 * MINUTE
        await t.polled_many(
            [dict(dispatch_id="d1", last_event_at=scan_at, applied_at=scan_at, next_poll_at=later),
             dict(dispatch_id="d2", last_event_at=None, applied_at=None, next_poll_at=None)],
            now=later,
        )  # fmt: skip
        d1, d2 = await t.get(WB1), await t.get(WB2)
        assert (d1.polls, d1.last_polled_at, d1.next_poll_at, d1.active) == (1, later, later, True)
        assert (d1.applied_at, d1.last_event_at) == (scan_at, scan_at)
        assert (d2.polls, d2.active, d2.next_poll_at) == (1, False, None)  # no next poll: not followed

        await t.save_progress_many(
            [dict(dispatch_id="d1", last_event_at=later, applied_at=scan_at, active=None),
             dict(dispatch_id="d2", last_event_at=later, applied_at=None, active=None),
             dict(dispatch_id="d3", last_event_at=later, applied_at=later, active=False)]
        )  # fmt: skip
        d1, d2, d3 = [await t.get(wb) for wb in (WB1, WB2, WB3)]
        assert (d1.active, d1.last_event_at, d1.polls) == (True, later, 1)
        assert (d2.active, d3.active, d3.applied_at) == (False, False, later)  # None keeps, False stops


def notice(i: int, key: str, channel="sms") -> Notice:
    return Notice(id=f"n{i}", channel=channel, kind="delivered", dispatch_id="d1", dedupe_key=key,
                  event_time=NOW, created_at=NOW + timedelta(seconds=i))  # fmt: skip


async def test_a_notice_is_stored_once_per_key(new_uow):
    async with new_uow() as uow:
        t = uow.tracking
        assert await t.add_notice(notice(1, "sms:d1:delivered:t"))
        assert not await t.add_notice(notice(2, "sms:d1:delivered:t"))
        added = await t.add_notices([notice(3, "sms:d1:delivered:t"), notice(4, "callback:d1", "callback"),
                                     notice(5, "sms:d1:out:t")])  # fmt: skip
        assert added == {"n4", "n5"}
        assert await t.add_notices([]) == set()
        assert await t.get_notice("n2") is None
        assert await t.get_notice("n4") == notice(4, "callback:d1", "callback")
        await t.finish_notice("n4", now=NOW + timedelta(hours=1), outcome="x" * 600)
        done = await t.get_notice("n4")
        assert (done.sent_at, done.outcome) == (NOW + timedelta(hours=1), "x" * 500)


async def test_a_dispatch_s_notices_of_a_kind_are_read_oldest_first(new_uow):
    def of(i: int, dispatch_id: str, kind: str, seconds: int) -> Notice:
        return Notice(id=f"n{i}", channel="sms", kind=kind, dispatch_id=dispatch_id, dedupe_key=f"k{i}",
                      event_time=NOW, created_at=NOW + timedelta(seconds=seconds))  # fmt: skip

    later, earlier = of(1, "d1", "pickup_code", 9), of(2, "d1", "pickup_code", 1)
    other_kind, other_dispatch = of(3, "d1", "delivered", 5), of(4, "d2", "pickup_code", 5)
    async with new_uow() as uow:
        await uow.tracking.add_notices([later, earlier, other_kind, other_dispatch])
    async with new_uow(read_only=True) as uow:
        t = uow.tracking
        assert await t.notices_for(["d1"], kind="pickup_code") == [earlier, later]
        assert await t.notices_for(["d1", "d2", "d9"], kind="pickup_code") == [earlier, other_dispatch, later]
        assert await t.notices_for([], kind="pickup_code") == []


async def test_counters_add_up(new_uow):
    async with new_uow() as uow:
        await uow.tracking.count({"a": 2, "b": 0})
        await uow.tracking.count({"a": 3, "c": 1})
        await uow.tracking.count({})
    async with new_uow(read_only=True) as uow:
        assert await uow.tracking.read_counters() == {"a": 5, "c": 1}


async def test_the_citizen_reads_the_newest_match_by_number_and_phone_with_scans_newest_first(new_uow):
    d = await booked(new_uow, "C1", WB1)
    older = make_dispatch("C1", client_id="other", created_at=NOW - timedelta(days=1))
    await stored(new_uow, older)
    async with new_uow() as uow:
        await uow.tracking.store_events(
            [scan(1), scan(9, S.OUT_FOR_DELIVERY, "702"), scan(4)], source="push", now=NOW
        )
    async with new_uow(read_only=True) as uow:
        t = uow.tracking
        row = await t.find_for_citizen(phone_last4="1234", waybill_no=WB1)
        assert (row.status, row.waybill_no, row.case_no, row.reason) == ("booked", WB1, "C1", "")
        assert (row.created_at, row.updated_at, row.delivery_method, row.direction) == (
            NOW,
            NOW,
            "mail",
            "outbound",
        )
        assert row.payload["recipient"] == {"name": "王小明", "phone": "13807961234"}
        assert row.payload["matter_name"] == d.matter_name
        assert [(s.time.minute, s.status, s.description) for s in row.scans] == [
            (9, "out_for_delivery", "扫描9"), (4, "in_transit", "扫描4"), (1, "in_transit", "扫描1"),
        ]  # fmt: skip
        by_case = await t.find_for_citizen(phone_last4="1234", case_no="C1")
        assert (by_case.waybill_no, len(by_case.scans)) == (WB1, 3)  # the newer of the two cases
        assert await t.find_for_citizen(phone_last4="0000", waybill_no=WB1) is None
        old = make_dispatch("C2")
        assert await t.find_for_citizen(phone_last4="1234", case_no=old.case_no) is None


async def test_quiet_parcels_are_those_without_a_scan_or_move_since_a_time(new_uow):
    scanned, moved_only = await booked(new_uow, "Q1", WB1), await booked(new_uow, "Q2", WB2)
    fresh = await booked(new_uow, "Q3", WB3)
    async with new_uow() as uow:
        for d in (scanned, moved_only, fresh):
            await uow.tracking.start(d.id, d.waybill_no, now=NOW)
        last_scan = NOW + timedelta(hours=2)
        await uow.tracking.save_progress_many(
            [dict(dispatch_id=scanned.id, last_event_at=last_scan, applied_at=last_scan, active=None),
             dict(dispatch_id=fresh.id, last_event_at=NOW + timedelta(hours=9), applied_at=None, active=None)]
        )  # fmt: skip
        quiet = await uow.tracking.quiet_parcels(["booked", "in_transit"], NOW + timedelta(hours=3))
        assert quiet == [(moved_only, NOW), (scanned, last_scan)]
        assert await uow.tracking.quiet_parcels(["in_transit"], NOW + timedelta(hours=3)) == []
