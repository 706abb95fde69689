"""`uow.dispatches`: insert once per case, reads, compare-and-set moves and the audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from logistics.domain.model import Address, AuditEvent, Party
from logistics.domain.status import Status
from logistics.service.views import dispatch_json
from tests.fixtures.dispatches import NOW, make_dispatch

from .conftest import stored

S = Status


async def test_a_case_is_inserted_once_and_read_back_whole(new_uow):
    d = make_dispatch("D1")
    async with new_uow() as uow:
        assert await uow.dispatches.insert_new(d, request_hash="h1", response=dispatch_json(d))
        again = make_dispatch("D1")  # another id, same client and case
        assert not await uow.dispatches.insert_new(again, request_hash="h2", response=dispatch_json(again))
        other_client = make_dispatch("D1", client_id="other")
        response = {**dispatch_json(other_client), "note": "as first answered"}
        assert await uow.dispatches.insert_new(other_client, request_hash="h3", response=response)
    async with new_uow(read_only=True) as uow:
        assert await uow.dispatches.get(d.id) == replace(d, updated_at=d.created_at)
        assert await uow.dispatches.get(again.id) is None
        request_hash, response = await uow.dispatches.find_by_case("approval", "D1")
        assert (request_hash, response) == ("h1", dispatch_json(d))
        assert (await uow.dispatches.find_by_case("other", "D1")).response["note"] == "as first answered"
        assert await uow.dispatches.find_by_case("approval", "nope") is None


async def test_get_many_and_find_by_columns(new_uow):
    a, b = make_dispatch("D2"), make_dispatch("D3")
    await stored(new_uow, a, b)
    async with new_uow() as uow:
        after, event = a.moved(S.BOOKED, at=NOW, actor="t", cause="c", waybill_no="1100000000013")
        assert await uow.dispatches.save_move(a, after, event)
        found = await uow.dispatches.get_many([b.id, a.id, "missing"])
        assert sorted(d.case_no for d in found) == ["D2", "D3"]
        assert (await uow.dispatches.find(waybill_no="1100000000013")).id == a.id
        assert (await uow.dispatches.find(client_id="approval", case_no="D3")).id == b.id
        assert (await uow.dispatches.find(status="received")).id == b.id
        assert (await uow.dispatches.find(order_no=a.order_no)).id == a.id
        assert await uow.dispatches.find(case_no="D3", status="booked") is None


async def test_a_move_is_saved_only_from_the_status_it_was_made_from(new_uow):
    d = make_dispatch("D4")
    await stored(new_uow, d)
    later = NOW + timedelta(minutes=5)
    booking, e1 = d.moved(S.BOOKING, at=later, actor="t", cause="booking")
    failed, e2 = booking.moved(S.BOOKING_FAILED, at=later, actor="t", cause="failed", reason="地址不详")
    async with new_uow() as uow:
        assert await uow.dispatches.save_move(d, booking, e1)
        assert await uow.dispatches.save_move(booking, failed, e2)
        lost, e3 = d.moved(S.CANCELLED, at=later, actor="t", cause="too late")
        assert not await uow.dispatches.save_move(d, lost, e3)  # d is no longer received
    async with new_uow(read_only=True) as uow:
        now = await uow.dispatches.get(d.id)
        assert (now.status, now.reason, now.updated_at) == (S.BOOKING_FAILED, "地址不详", later)
        assert [(e.from_status, e.to_status, e.cause) for e in await uow.dispatches.events(d.id)] == [
            (S.RECEIVED, S.BOOKING, "booking"),
            (S.BOOKING, S.BOOKING_FAILED, "failed"),
        ]


async def test_save_moves_returns_only_the_dispatches_that_moved(new_uow):
    a, b, c = make_dispatch("D5"), make_dispatch("D6"), make_dispatch("D7")
    await stored(new_uow, a, b, c)
    async with new_uow() as uow:  # someone moves b first
        b_now, event = b.moved(S.CANCELLED, at=NOW, actor="staff", cause="cancelled")
        assert await uow.dispatches.save_move(b, b_now, event)
    at = NOW + timedelta(seconds=1)
    moves = [
        (a, *a.moved(S.BOOKED, at=at, actor="s", cause="booked", waybill_no="1100000000013")),
        (b, *b.moved(S.BOOKED, at=at, actor="s", cause="booked", waybill_no="1100000000027")),
        (c, *c.moved(S.BOOKING_FAILED, at=at, actor="s", cause="failed", reason="拒收")),
    ]
    async with new_uow() as uow:
        assert await uow.dispatches.save_moves(moves) == {a.id, c.id}
        assert await uow.dispatches.save_moves([]) == set()
    async with new_uow(read_only=True) as uow:
        got = {d.id: d for d in await uow.dispatches.get_many([a.id, b.id, c.id])}
        assert (got[a.id].status, got[a.id].waybill_no, got[a.id].updated_at) == (
            S.BOOKED,
            "1100000000013",
            at,
        )
        assert (got[b.id].status, got[b.id].waybill_no) == (S.CANCELLED, None)
        assert (got[c.id].status, got[c.id].reason) == (S.BOOKING_FAILED, "拒收")
        assert [e.cause for e in await uow.dispatches.events(b.id)] == ["cancelled"]
        assert [e.to_status for e in await uow.dispatches.events(a.id)] == [S.BOOKED]


async def test_events_come_back_in_the_order_they_were_added(new_uow):
    d = make_dispatch("D8")
    await stored(new_uow, d)
    events = [AuditEvent(NOW - timedelta(minutes=i), "t", f"cause {i}", S.RECEIVED, S.RECEIVED, {"i": i})
              for i in range(4)]  # fmt: skip
    async with new_uow() as uow:
        await uow.dispatches.add_event(d.id, events[0])
        await uow.dispatches.add_events([(d.id, e) for e in events[1:]])
        await uow.dispatches.add_events([])
    async with new_uow(read_only=True) as uow:
        assert await uow.dispatches.events(d.id) == events
        assert await uow.dispatches.events("other") == []


async def test_save_contact_stores_the_corrected_recipient_and_address(new_uow):
    d = make_dispatch("D9")
    await stored(new_uow, d)
    later = NOW + timedelta(hours=1)
    new_address = Address("江西省", "吉安市", "安福县", "新址1号", "343200")
    fixed = replace(d, recipient=Party("李四", "13900001111"), address=new_address, updated_at=later)
    async with new_uow() as uow:
        await uow.dispatches.save_contact(fixed)
    async with new_uow(read_only=True) as uow:
        assert await uow.dispatches.get(d.id) == fixed
        assert await uow.tracking.find_for_citizen(phone_last4="1111", case_no="D9") is not None
        assert await uow.tracking.find_for_citizen(phone_last4="1234", case_no="D9") is None


async def test_search_by_status_and_number_newest_first(new_uow):
    ds = [make_dispatch(f"Q{i}", created_at=NOW + timedelta(minutes=i)) for i in range(4)]
    await stored(new_uow, *ds)
    async with new_uow() as uow:
        after, event = ds[1].moved(S.BOOKED, at=NOW, actor="t", cause="c", waybill_no="1100000000013")
        await uow.dispatches.save_move(ds[1], after, event)
        after, event = ds[2].moved(S.CANCELLED, at=NOW, actor="t", cause="c")
        await uow.dispatches.save_move(ds[2], after, event)
    async with new_uow(read_only=True) as uow:
        found, total = await uow.dispatches.search()
        assert ([d.case_no for d in found], total) == (["Q3", "Q2", "Q1", "Q0"], 4)
        found, total = await uow.dispatches.search(status="booked,cancelled")
        assert ([d.case_no for d in found], total) == (["Q2", "Q1"], 2)
        found, total = await uow.dispatches.search(limit=2, offset=1)
        assert ([d.case_no for d in found], total) == (["Q2", "Q1"], 4)
        for q in ("Q0", "1100000000013", ds[3].id):
            found, total = await uow.dispatches.search(q=q)
            assert total == 1 and len(found) == 1
        assert (await uow.dispatches.search(q="Q"))[1] == 0  # exact numbers, not a substring
