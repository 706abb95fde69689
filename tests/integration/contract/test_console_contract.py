"""`uow.console`: sessions, counted sign-in attempts, the staff audit log, pickup codes with counted
tries, and the console's dispatch list."""

from __future__ import annotations

from datetime import timedelta

from logistics.domain.model import AuditEvent, DeliveryMethod, Party
from logistics.domain.status import Status
from tests.fixtures.dispatches import NOW, make_dispatch

from .conftest import stored

HOUR = timedelta(hours=1)
S = Status


async def test_sessions_are_added_touched_and_dropped(new_uow):
    async with new_uow() as uow:
        for i, user in enumerate((1, 1, 2)):
            await uow.console.add_session(id_hash=f"s{i}", user_id=user, csrf_token=f"c{i}", now=NOW,
                                          expires_at=NOW + HOUR * (i + 1))  # fmt: skip
        await uow.console.touch_session("s0", now=NOW + HOUR / 2, expires_at=NOW + 5 * HOUR)
        s0 = await uow.console.get_session("s0")
        assert (s0.user_id, s0.csrf_token, s0.last_seen_at, s0.expires_at) == (
            1,
            "c0",
            NOW + HOUR / 2,
            NOW + 5 * HOUR,
        )
        await uow.console.drop_expired(NOW + 2.5 * HOUR)  # s1 (2 h) goes; s2 (3 h) stays
        assert await uow.console.get_session("s1") is None
        await uow.console.drop_sessions_of(1)
        assert await uow.console.get_session("s0") is None
        assert (await uow.console.get_session("s2")).user_id == 2
        await uow.console.drop_session("s2")
        assert await uow.console.get_session("s2") is None


async def test_sign_in_attempts_are_counted_then_locked_until_the_window_passes(new_uow):
    window = timedelta(minutes=15)
    async with new_uow() as uow:
        console = uow.console
        tries = [
            await console.reserve_login_attempt("wang", now=NOW, limit=3, window=window) for _ in range(4)
        ]
        assert [(a.number, a.locked_until) for a in tries[:3]] == [(1, None), (2, None), (3, NOW + window)]
        assert tries[3] is None
        assert (await console.failures_of("wang")).failures == 3
        assert (
            await console.reserve_login_attempt("wang", now=NOW + window / 2, limit=3, window=window) is None
        )
        again = await console.reserve_login_attempt("wang", now=NOW + window, limit=3, window=window)
        assert (again.number, again.locked_until) == (1, None)
        await console.clear_failures("wang")
        assert await console.failures_of("wang") is None
        first = await console.reserve_login_attempt("li", now=NOW, limit=3, window=window)
        late = await console.reserve_login_attempt("li", now=NOW + 2 * window, limit=3, window=window)
        assert (first.number, late.number) == (1, 1)  # an old failure is forgotten


async def test_the_audit_log_newest_first_by_action_prefix(new_uow):
    async with new_uow() as uow:
        for i, action in enumerate(("login", "login.failed", "user.created", "login")):
            await uow.console.audit(
                at=NOW + timedelta(seconds=i), actor="a", action=action, subject=f"s{i}", n=i
            )
    async with new_uow(read_only=True) as uow:
        assert [r.subject for r in await uow.console.audit_log()] == ["s3", "s2", "s1", "s0"]
        assert [r.subject for r in await uow.console.audit_log(action_prefix="login")] == ["s3", "s1", "s0"]
        [newest] = await uow.console.audit_log(limit=1)
        assert (newest.actor, newest.action, newest.detail, newest.at) == (
            "a",
            "login",
            {"n": 3},
            NOW + timedelta(seconds=3),
        )


async def test_pickup_code_tries_are_counted_up_to_the_limit(new_uow):
    async with new_uow() as uow:
        await uow.console.put_pickup_code("d1", code_hash="h1", now=NOW, expires_at=NOW + HOUR, by="staff")
        tries = [await uow.console.reserve_pickup_attempt("d1", now=NOW, max_attempts=3) for _ in range(4)]
        assert tries == ["h1", "h1", "h1", None]
        stored_code = await uow.console.pickup_code("d1")
        assert (stored_code.attempts, stored_code.used_at, stored_code.created_by) == (3, None, "staff")
        assert await uow.console.reserve_pickup_attempt("none", now=NOW, max_attempts=3) is None


async def test_a_pickup_code_is_used_once_and_dies_when_replaced_or_expired(new_uow):
    async with new_uow() as uow:
        console = uow.console
        await console.put_pickup_code("d1", code_hash="old", now=NOW, expires_at=NOW + HOUR, by="s")
        await console.put_pickup_code("d1", code_hash="new", now=NOW, expires_at=NOW + HOUR, by="s")
        assert (await console.pickup_code("d1")).attempts == 0
        assert not await console.use_pickup_code("d1", code_hash="old", now=NOW)
        assert await console.reserve_pickup_attempt("d1", now=NOW + HOUR, max_attempts=5) is None  # expired
        assert await console.reserve_pickup_attempt("d1", now=NOW, max_attempts=5) == "new"
        assert await console.use_pickup_code("d1", code_hash="new", now=NOW)
        assert not await console.use_pickup_code("d1", code_hash="new", now=NOW)
        assert (await console.pickup_code("d1")).used_at == NOW
        assert await console.reserve_pickup_attempt("d1", now=NOW, max_attempts=5) is None  # used
        await console.put_pickup_code("d2", code_hash="x", now=NOW, expires_at=NOW + HOUR, by="s")
        assert sorted(await console.pickup_codes_for(["d1", "d2", "d3"])) == ["d1", "d2"]
        assert await console.pickup_codes_for([]) == {}


async def test_an_expired_pickup_code_stops_working_now_and_a_used_one_stays_used(new_uow):
    async with new_uow() as uow:
        console = uow.console
        await console.put_pickup_code("d1", code_hash="h1", now=NOW, expires_at=NOW + HOUR, by="s")
        await console.expire_pickup_code("d1", now=NOW + HOUR / 2)
        assert (await console.pickup_code("d1")).expires_at == NOW + HOUR / 2
        assert await console.reserve_pickup_attempt("d1", now=NOW + HOUR / 2, max_attempts=5) is None
        await console.put_pickup_code("d2", code_hash="h2", now=NOW, expires_at=NOW + HOUR, by="s")
        assert await console.use_pickup_code("d2", code_hash="h2", now=NOW)
        await console.expire_pickup_code("d2", now=NOW + HOUR / 2)  # used: kept as it was
        assert (await console.pickup_code("d2")).expires_at == NOW + HOUR
        await console.expire_pickup_code("none", now=NOW)


async def test_a_pickup_slip_is_queued_printed_requeued_and_cleared(new_uow):
    async with new_uow() as uow:
        console = uow.console
        await console.queue_pickup_slip("d1", reason="未配置短信服务", now=NOW)
        await console.slip_printed("d2", now=NOW, by="staff:li")  # printed with none queued
        slips = await console.pickup_slips_for(["d1", "d2", "d3"])
        assert sorted(slips) == ["d1", "d2"]
        assert (slips["d1"].reason, slips["d1"].queued_at, slips["d1"].printed_at) == (
            "未配置短信服务",
            NOW,
            None,
        )
        assert (slips["d2"].printed_at, slips["d2"].printed_by) == (NOW, "staff:li")
        await console.slip_printed("d1", now=NOW + HOUR, by="staff:wang")
        row = (await console.pickup_slips_for(["d1"]))["d1"]
        assert (row.reason, row.printed_at, row.printed_by) == ("未配置短信服务", NOW + HOUR, "staff:wang")
        await console.queue_pickup_slip("d1", reason="短信未送达", now=NOW + 2 * HOUR)  # waiting again
        row = (await console.pickup_slips_for(["d1"]))["d1"]
        assert (row.reason, row.queued_at, row.printed_at) == ("短信未送达", NOW + 2 * HOUR, None)
        await console.clear_pickup_slip("d1")
        assert sorted(await console.pickup_slips_for(["d1", "d2"])) == ["d2"]
        assert await console.pickup_slips_for([]) == {}


async def test_the_dispatch_list_finds_whole_case_and_waybill_numbers_and_full_names(new_uow):
    ds = [make_dispatch(f"AF-{i}", created_at=NOW + timedelta(minutes=i)) for i in range(3)]
    ds.append(make_dispatch("XY-9", recipient=Party("赵六", "13900009999"), created_at=NOW))
    await stored(new_uow, *ds)
    async with new_uow() as uow:
        after, event = ds[0].moved(
            Status.BOOKED, at=NOW + HOUR, actor="t", cause="c", waybill_no="1100000000013"
        )
        await uow.dispatches.save_move(ds[0], after, event)
    async with new_uow(read_only=True) as uow:
        console = uow.console
        found, total = await console.search_dispatches(statuses=None)
        assert ([d.case_no for d in found], total) == (["AF-0", "AF-2", "AF-1", "XY-9"], 4)
        found, total = await console.search_dispatches(statuses=["received"], limit=1, offset=1)
        assert ([d.case_no for d in found], total) == (["AF-1"], 3)

        async def cases(q: str, statuses=None) -> list[str]:
            return [d.case_no for d in (await console.search_dispatches(statuses=statuses, q=q))[0]]

        assert await cases(" AF-1 ") == ["AF-1"]
        assert await cases("AF-1", ["booked"]) == []
        assert await cases("1100000000013") == ["AF-0"]
        assert await cases("赵六") == ["XY-9"] and await cases(" 赵 六") == ["XY-9"]
        for part in ("AF-", "00013", "赵", "%"):  # a whole number or name, never a part or a wildcard
            assert await cases(part) == [], part
        assert await console.count_by_status() == {"booked": 1, "received": 3}


async def test_the_dashboard_counts_arrivals_and_status_changes_since_a_time(new_uow):
    early = make_dispatch("DB-0", created_at=NOW - HOUR)
    a, b = make_dispatch("DB-1"), make_dispatch("DB-2", delivery_method=DeliveryMethod.VILLAGE_POINT)
    await stored(new_uow, early, a, b)
    async with new_uow() as uow:
        for d in (early, a, b):
            await uow.dispatches.add_event(
                d.id, AuditEvent(d.created_at, "intake", "intake", None, S.RECEIVED)
            )
        d = a
        for i, to in enumerate((S.BOOKING, S.BOOKING_FAILED, S.BOOKING, S.BOOKED)):
            after, event = d.moved(to, at=NOW + timedelta(minutes=i), actor="t", cause="c")
            assert await uow.dispatches.save_move(d, after, event)
            d = after
        after, event = early.moved(S.BOOKING, at=NOW - HOUR, actor="t", cause="c")
        assert await uow.dispatches.save_move(early, after, event)
        await uow.dispatches.add_event(b.id, AuditEvent(NOW, "t", "note", S.RECEIVED, S.RECEIVED))
    async with new_uow(read_only=True) as uow:
        console = uow.console
        assert await console.received_since(NOW) == 2
        assert await console.received_since(NOW - HOUR) == 3
        assert await console.moves_since(NOW, ["booking", "booked", "received"]) == {
            "booking": 2,
            "booked": 1,
        }
        assert await console.moves_since(NOW - HOUR, ["booking"]) == {"booking": 3}
        [(at, payload)] = await console.first_moves_to("booking", NOW)  # early's first move was before
        assert (at, payload["recipient"]["name"], payload["matter_name"]) == (NOW, "王小明", a.matter_name)
        assert await console.first_moves_to("received", NOW - HOUR) == []  # intake is no change
        assert [d.case_no for d in await console.village_point_dispatches()] == ["DB-2"]
