"""Console use cases on SQLite and PostgreSQL: sessions and lock-out, pickup codes, users, the dashboard
(village points: test_village_points.py)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from logistics import bootstrap
from logistics.config import Settings
from logistics.domain.errors import Conflict, InvalidInput
from logistics.domain.model import DeliveryMethod
from logistics.domain.status import Status
from logistics.service import dashboard, pickup, pickup_delivery, sessions, users
from logistics.service import dispatches as dispatch_service
from logistics.service.deps import Deps
from logistics.service.intake import IntakeRequest, record_intake
from logistics.service.sessions import LoginRefused, Policy
from logistics.storage.console_repo import SqlConsoleRecords
from logistics.storage.dispatch_repo import SqlDispatches
from logistics.storage.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from tests.fixtures.dispatches import NOW, make_dispatch

POLICY = Policy(session_hours=8, max_failures=5, lockout_minutes=15)


class Clock:
    def __init__(self, now=NOW):
        self.t = now

    def now(self):
        return self.t


class Sms:
    def __init__(self):
        self.sent = []

    async def send(self, phone, template, params, *, key):
        self.sent.append((phone, template, params, key))


async def stored(engine, case_no: str, status: Status | None = None, **over):
    d = make_dispatch(case_no, **over)
    async with engine.begin() as conn:
        await record_intake(SqlUnitOfWork.on(conn), IntakeRequest(d, case_no, NOW, False, 5))
        d = await SqlDispatches(conn).get(d.id)
        path = {
            Status.HANDED_OVER: [(Status.BOOKED, {"waybill_no": f"11{abs(hash(case_no)) % 10**11:011d}"}),
                                 (Status.HANDED_OVER, {})],
            Status.AWAITING_PICKUP: [(Status.AWAITING_PICKUP, {})],
        }.get(status, [])  # fmt: skip
        for to, changes in path:
            if d.status is not to:
                d = await dispatch_service.move(
                    SqlUnitOfWork.on(conn), d, to, at=NOW, actor="test", cause="setup", **changes
                )
    return d


# ---- sessions and lock-out ----------------------------------------------------------------------


async def test_sign_in_opens_a_session_that_resolves_and_ends(engine):
    await users.create(
        unit_of_work_factory(engine)(), "li", "dispatcher", password="correct-horse", actor="t", now=NOW
    )
    session = await sessions.login(
        unit_of_work_factory(engine), "li", "correct-horse", now=NOW, policy=POLICY
    )
    found = await sessions.resolve(
        unit_of_work_factory(engine), session.token, now=NOW + timedelta(hours=1), policy=POLICY
    )
    assert found.user.name == "li" and sessions.csrf_ok(found, session.csrf_token)
    assert not sessions.csrf_ok(found, "x") and not sessions.csrf_ok(found, None)
    assert (
        await sessions.resolve(
            unit_of_work_factory(engine), session.token, now=NOW + timedelta(hours=30), policy=POLICY
        )
        is None
    )
    await sessions.logout(unit_of_work_factory(engine)(), found, now=NOW)
    assert await sessions.resolve(unit_of_work_factory(engine), session.token, now=NOW, policy=POLICY) is None
    async with engine.connect() as conn:
        assert await SqlConsoleRecords(conn).get_session(session.token) is None  # only the hash is stored


async def test_five_failures_lock_the_name_for_fifteen_minutes_and_are_audited(engine):
    await users.create(
        unit_of_work_factory(engine)(), "wang", "finance", password="correct-horse", actor="t", now=NOW
    )
    for n in range(4):
        with pytest.raises(LoginRefused) as e:
            await sessions.login(
                unit_of_work_factory(engine), "wang", "nope", now=NOW + timedelta(seconds=n), policy=POLICY
            )
        assert e.value.locked_until is None and str(e.value) == sessions.WRONG
    with pytest.raises(LoginRefused) as e:
        await sessions.login(
            unit_of_work_factory(engine), "wang", "nope", now=NOW + timedelta(seconds=5), policy=POLICY
        )
    assert e.value.locked_until == NOW + timedelta(seconds=5, minutes=15)
    with pytest.raises(LoginRefused, match="锁定"):  # even the right password
        await sessions.login(
            unit_of_work_factory(engine),
            "wang",
            "correct-horse",
            now=NOW + timedelta(minutes=10),
            policy=POLICY,
        )
    later = NOW + timedelta(minutes=16)
    assert (
        await sessions.login(unit_of_work_factory(engine), "wang", "correct-horse", now=later, policy=POLICY)
    ).user.role == "finance"
    async with engine.connect() as conn:
        actions = [r.action for r in await SqlConsoleRecords(conn).audit_log()]
    assert (
        actions.count("login.failed") == 5 and "login.locked" in actions and "login.refused_locked" in actions
    )


async def test_unknown_names_are_refused_the_same_way_and_a_reset_lifts_the_lock(engine):
    with pytest.raises(LoginRefused, match="用户名或密码错误"):
        await sessions.login(unit_of_work_factory(engine), "ghost", "whatever1", now=NOW, policy=POLICY)
    await users.create(
        unit_of_work_factory(engine)(), "zhao", "dispatcher", password="first-pass", actor="t", now=NOW
    )
    for _ in range(5):
        with pytest.raises(LoginRefused):
            await sessions.login(unit_of_work_factory(engine), "zhao", "bad", now=NOW, policy=POLICY)
    async with engine.connect() as conn:
        uid = (await users_repo_password_of(conn, "zhao"))[0].id
    await users.set_password(unit_of_work_factory(engine), uid, "second-pass", actor="admin", now=NOW)
    assert (
        await sessions.login(unit_of_work_factory(engine), "zhao", "second-pass", now=NOW, policy=POLICY)
    ).user.name == "zhao"


async def users_repo_password_of(conn, name):
    from logistics.storage.users_repo import SqlUsers

    return await SqlUsers(conn).password_of(name)


async def test_users_roles_and_passwords_are_checked(engine):
    with pytest.raises(InvalidInput):
        await users.create(
            unit_of_work_factory(engine)(), "a", "dispatcher", password="short", actor="t", now=NOW
        )
    with pytest.raises(InvalidInput):
        await users.create(
            unit_of_work_factory(engine)(), "a", "boss", password="long-enough", actor="t", now=NOW
        )
    await users.create(
        unit_of_work_factory(engine)(), "a", "dispatcher", password="long-enough", actor="t", now=NOW
    )
    with pytest.raises(Conflict):
        await users.create(
            unit_of_work_factory(engine)(), "a", "dispatcher", password="long-enough", actor="t", now=NOW
        )
    listed = await users.list_users(unit_of_work_factory(engine)(read_only=True))
    await users.set_role(unit_of_work_factory(engine)(), listed[0]["id"], "admin", actor="t", now=NOW)
    assert (await users.list_users(unit_of_work_factory(engine)(read_only=True)))[0]["role"] == "admin"


# ---- pickup codes -------------------------------------------------------------------------------


def deps_for(engine, clock, sms) -> Deps:
    return bootstrap.deps(Settings(pickup_code_hours=72), engine=engine, clock=clock, notifier=sms)


async def test_a_pickup_code_is_sent_stored_hashed_and_releases_the_certificate_once(engine):
    d = await stored(engine, "PK1", Status.AWAITING_PICKUP, delivery_method=DeliveryMethod.PICKUP)
    clock, sms = Clock(), Sms()
    issued = await pickup.issue(deps_for(engine, clock, sms), d.id, actor="staff:li", code="246810")
    assert issued.expires_at == NOW + timedelta(hours=72)
    ((phone, template, params, _),) = sms.sent
    assert phone == "13807961234" and template == "pickup_code" and params["code"] == "246810"
    async with engine.connect() as conn:
        row = await SqlConsoleRecords(conn).pickup_code(d.id)
    assert "246810" not in row.code_hash and row.code_hash.startswith("$argon2")
    with pytest.raises(InvalidInput, match="不正确"):
        await pickup.release(
            unit_of_work_factory(engine), d.id, "135790", actor="staff:li", now=NOW, max_attempts=5
        )
    after = await pickup.release(
        unit_of_work_factory(engine), d.id, "246810", actor="staff:li", now=NOW, max_attempts=5
    )
    assert after.status is Status.PICKED_UP
    with pytest.raises(Conflict):
        await pickup.release(
            unit_of_work_factory(engine), d.id, "246810", actor="staff:li", now=NOW, max_attempts=5
        )
    async with engine.connect() as conn:
        causes = [e.cause for e in await SqlDispatches(conn).events(d.id)]
    assert causes[-3:] == ["pickup code sent", "pickup code rejected",
                           "picked up at the counter (pickup code verified)"]  # fmt: skip


async def test_a_pickup_code_expires_and_dies_after_too_many_wrong_tries(engine):
    d = await stored(engine, "PK2", Status.AWAITING_PICKUP, delivery_method=DeliveryMethod.PICKUP)
    deps = deps_for(engine, Clock(), Sms())
    await pickup.issue(deps, d.id, actor="staff:li", code="111111")
    with pytest.raises(InvalidInput, match="过期"):
        await pickup.release(
            unit_of_work_factory(engine),
            d.id,
            "111111",
            actor="s",
            now=NOW + timedelta(hours=73),
            max_attempts=5,
        )
    await pickup.issue(deps, d.id, actor="staff:li", code="222222")
    for _ in range(3):
        with pytest.raises(InvalidInput):
            await pickup.release(
                unit_of_work_factory(engine), d.id, "999999", actor="s", now=NOW, max_attempts=3
            )
    with pytest.raises(InvalidInput, match="失效"):
        await pickup.release(unit_of_work_factory(engine), d.id, "222222", actor="s", now=NOW, max_attempts=3)


async def test_no_code_for_a_mailed_dispatch_or_without_an_sms_gateway(engine):
    d = await stored(engine, "PK3")
    with pytest.raises(Conflict):
        await pickup.issue(deps_for(engine, Clock(), Sms()), d.id, actor="s")
    with pytest.raises(Conflict, match="短信"):
        await pickup.issue(deps_for(engine, Clock(), None), d.id, actor="s")


class Ticking:
    """A clock a second further on at each reading: each print has a time of its own."""

    def __init__(self):
        self.t = NOW

    def now(self):
        self.t += timedelta(seconds=1)
        return self.t


async def test_a_double_clicked_print_prints_two_slips_and_the_one_recorded_last_is_valid(engine):
    d = await stored(engine, "PK4", Status.AWAITING_PICKUP, delivery_method=DeliveryMethod.PICKUP)
    deps = deps_for(engine, Ticking(), None)
    for _ in range(3):  # two prints at once (the form opens a new tab), a few times over
        slips = await asyncio.gather(
            *(pickup_delivery.print_slip(deps, d.id, actor="staff:li") for _ in "12")
        )
        async with engine.connect() as conn:
            code = await SqlConsoleRecords(conn).pickup_code(d.id)
            slip = (await SqlConsoleRecords(conn).pickup_slips_for([d.id]))[d.id]
        [valid] = [s for s in slips if s.printed_at == slip.printed_at == code.created_at]
    [void] = [s for s in slips if s is not valid]
    new_uow = unit_of_work_factory(engine)
    with pytest.raises(InvalidInput, match="不正确"):
        await pickup.release(new_uow, d.id, void.code, actor="staff:li", now=NOW, max_attempts=5)
    after = await pickup.release(new_uow, d.id, valid.code, actor="staff:li", now=NOW, max_attempts=5)
    assert after.status is Status.PICKED_UP
    async with engine.connect() as conn:
        causes = [e.cause for e in await SqlDispatches(conn).events(d.id)]
    assert causes.count("pickup slip printed") == 6


# ---- dashboard ----------------------------------------------------------------------------------


async def test_the_dashboard_counts_by_township_and_times_delivery(engine):
    a = await stored(engine, "DB1", Status.HANDED_OVER)
    b = await stored(
        engine, "DB2", Status.HANDED_OVER, address=replace(make_dispatch().address, town="平都镇")
    )
    async with engine.begin() as conn:
        a = await SqlDispatches(conn).get(a.id)
        await dispatch_service.move(
            SqlUnitOfWork.on(conn), a, Status.DELIVERED, at=NOW + timedelta(days=2), actor="t", cause="t"
        )
        b = await SqlDispatches(conn).get(b.id)
        await dispatch_service.move(
            SqlUnitOfWork.on(conn), b, Status.DELIVERED, at=NOW + timedelta(days=5), actor="t", cause="t"
        )
    async with engine.connect() as conn:
        board = await dashboard.build(
            SqlUnitOfWork.on(conn),
            now=NOW + timedelta(days=6),
            ontime_days=3,
            estimate=lambda parcels: 800 * len(parcels),
        )
    assert dict(board.by_town) == {"洲湖镇": 1, "平都镇": 1} and board.mailed_month == 2
    assert board.median_days == pytest.approx(3.5) and board.ontime_rate == 0.5
    assert board.cost_fen == 1600 and board.cost_source == "tariff"
    assert sum(v for _, v in board.daily) == 2
