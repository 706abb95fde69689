"""Village proxy points on SQLite and PostgreSQL: the registry, a parcel the carrier delivers to the point
waiting there (awaiting_pickup), the clerk's access link and the hand-over against the citizen's pickup
code, a revoked link refused at once, and another hall's clerk reaching nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from logistics.domain.errors import Conflict, InvalidInput, NotFound
from logistics.domain.hall import Hall
from logistics.domain.model import DeliveryMethod
from logistics.domain.status import Status
from logistics.ports import TrackEvent
from logistics.service import pickup, tracking, village_clerk, village_points
from logistics.storage.dispatch_repo import SqlDispatches
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.fixtures.dispatches import NOW

from .test_console_services import Clock, Sms, deps_for, stored

POINT = {
    "code": "P-01", "name": "严田村代办点", "town": "严田镇", "clerk_name": "李代办",
    "clerk_phone": "13907960001",
    "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "严田镇",
                "detail": "严田村村委会", "postcode": "343200"},
}  # fmt: skip
VILLAGE = {"delivery_method": DeliveryMethod.VILLAGE_POINT, "village_point_code": "P-01"}


async def _delivered_to_point(engine, case_no: str):
    d = await stored(engine, case_no, Status.HANDED_OVER, **VILLAGE)
    scan = TrackEvent(d.waybill_no, NOW + timedelta(hours=5), Status.DELIVERED, "704", "投递并签收", "严田镇")
    await tracking.record(unit_of_work_factory(engine)(), [scan], now=NOW + timedelta(hours=5), source="push")
    async with engine.connect() as conn:
        return await SqlDispatches(conn).get(d.id)


async def test_the_registry_refuses_a_duplicate_code_and_names_bad_fields(engine):
    new_uow = unit_of_work_factory(engine)
    point = await village_points.register(new_uow(), POINT, hall="default", actor="staff:li", now=NOW)
    assert point.addressable and point.active
    with pytest.raises(Conflict):
        await village_points.register(new_uow(), POINT, hall="default", actor="staff:li", now=NOW)
    bad = {
        **POINT,
        "code": "坏 code",
        "clerk_phone": "123",
        "address": {**POINT["address"], "postcode": "34"},
    }
    with pytest.raises(InvalidInput) as refused:
        await village_points.register(new_uow(), bad, hall="default", actor="staff:li", now=NOW)
    assert {f for f, _ in refused.value.errors} == {"code", "clerk_phone", "address.postcode"}
    off = await village_points.change(
        new_uow(), "default", "P-01", {"active": False}, actor="staff:li", now=NOW
    )
    assert not off.active
    with pytest.raises(NotFound):
        await village_points.get(new_uow.for_hall("YX")(read_only=True), "default", "P-01")


async def test_an_import_is_stored_whole_or_refused_naming_each_row_and_field(engine):
    new_uow = unit_of_work_factory(engine)
    second = {**POINT, "code": "P-02", "name": "南岭村代办点"}
    with pytest.raises(InvalidInput) as refused:
        rows = [(2, POINT), (3, {**second, "clerk_phone": "x"}), (4, {**POINT, "name": "重复"})]
        await village_points.import_rows(new_uow(), rows, hall="default", actor="s", now=NOW)
    assert {f for f, _ in refused.value.errors} == {"第 3 行 clerk_phone", "第 4 行 code", "file"}
    assert "第 3 行 经办人电话" in refused.value.errors[0][1]
    assert await village_points.listed(new_uow(read_only=True)) == []
    done = await village_points.import_rows(
        new_uow(), [(2, POINT), (3, second)], hall="default", actor="s", now=NOW
    )
    assert (done.added, done.changed) == (["P-01", "P-02"], [])
    again = await village_points.import_rows(
        new_uow(), [(2, {**POINT, "name": "新名"})], hall="default", actor="s", now=NOW
    )
    assert again.changed == ["P-01"]
    assert (await village_points.get(new_uow(), "default", "P-01")).name == "新名"


async def test_the_point_receives_the_parcel_and_its_clerk_hands_it_over_against_the_code(engine):
    new_uow = unit_of_work_factory(engine)
    await village_points.register(new_uow(), POINT, hall="default", actor="staff:li", now=NOW)
    d = await _delivered_to_point(engine, "VP1")
    assert d.status is Status.AWAITING_PICKUP  # the carrier's "delivered" is the point receiving it
    figures = {f.code: f for f in await village_points.figures(new_uow(read_only=True))}
    assert figures["P-01"].count(village_points.AT_POINT) == 1 and figures["P-01"].name == "严田村代办点"
    sms = Sms()
    await pickup.issue(deps_for(engine, Clock(), sms), d.id, actor="staff:li", code="135790")
    access_id, token = await village_clerk.issue(new_uow, "default", "P-01", actor="staff:li", now=NOW)
    clerk = await village_clerk.enter(new_uow, token, now=NOW)
    await village_clerk.opened(new_uow, clerk, now=NOW)
    async with new_uow(read_only=True) as uow:
        (line,) = await uow.console.audit_log(action_prefix="village_access.opened")
    assert (line.actor, line.subject) == ("village:P-01:李代办", "default/P-01")
    assert [p.id for p in await village_clerk.waiting(new_uow, clerk)] == [d.id]
    later = NOW + timedelta(hours=6)
    with pytest.raises(InvalidInput):
        await village_clerk.hand_over(new_uow, clerk, d.id, "000000", now=later, max_attempts=5)
    done = await village_clerk.hand_over(new_uow, clerk, d.id, "135790", now=later, max_attempts=5)
    assert done.status is Status.PICKED_UP
    async with engine.connect() as conn:
        events = await SqlDispatches(conn).events(d.id)
    assert [e.actor for e in events[-3:]] == ["village:P-01:李代办"] * 3  # rejected, picked up, handed over
    assert events[-1].detail == {"village_point_code": "P-01", "clerk": "李代办", "access_id": access_id}
    async with new_uow(read_only=True) as uow:
        (access,) = await uow.village_points.accesses("default", "P-01")
    assert access.failures == 1 and access.last_used_at == later
    await village_clerk.revoke(new_uow, "default", "P-01", access_id, actor="staff:li", now=later)
    with pytest.raises(village_clerk.AccessRefused):
        await village_clerk.enter(new_uow, token, now=later)


async def test_a_clerk_of_another_hall_or_point_reaches_nothing_here(engine):
    new_uow = unit_of_work_factory(engine)
    async with new_uow() as uow:
        yx = Hall(name="永新县政务服务中心", phone="07967712345", province="江西省", city="吉安市",
                  county="永新县", address="禾川镇胜利路88号", postcode="343400", code="YX")  # fmt: skip
        await uow.halls.add(yx, now=NOW)
    await village_points.register(new_uow(), POINT, hall="default", actor="s", now=NOW)
    await village_points.register(new_uow(), POINT, hall="YX", actor="s", now=NOW)  # the same code
    d = await _delivered_to_point(engine, "VP2")
    await pickup.issue(deps_for(engine, Clock(), Sms()), d.id, actor="s", code="246802")
    _, token = await village_clerk.issue(new_uow, "YX", "P-01", actor="s", now=NOW)
    other = await village_clerk.enter(new_uow, token, now=NOW)
    assert await village_clerk.waiting(new_uow, other) == []
    with pytest.raises(NotFound):
        await village_clerk.hand_over(new_uow, other, d.id, "246802", now=NOW, max_attempts=5)
    here = await village_clerk.enter(
        new_uow, (await village_clerk.issue(new_uow, "default", "P-01", actor="s", now=NOW))[1], now=NOW
    )
    with pytest.raises(NotFound):  # a NUL names no parcel (and PostgreSQL text cannot hold one)
        await village_clerk.hand_over(new_uow, here, d.id + "\x00", "246802", now=NOW, max_attempts=5)
    async with engine.connect() as conn:
        assert (await SqlDispatches(conn).get(d.id)).status is Status.AWAITING_PICKUP


async def test_too_many_wrong_codes_through_one_link_lock_it(engine):
    new_uow = unit_of_work_factory(engine)
    await village_points.register(new_uow(), POINT, hall="default", actor="s", now=NOW)
    _, token = await village_clerk.issue(new_uow, "default", "P-01", actor="s", now=NOW)
    clerk = await village_clerk.enter(new_uow, token, now=NOW)
    async with new_uow() as uow:
        for n in range(village_clerk.FAILURE_LIMIT):
            at = NOW + timedelta(seconds=n)
            await uow.village_points.access_failed(
                clerk.access.id, now=at, window_start=at - village_clerk.FAILURE_WINDOW
            )
    with pytest.raises(village_clerk.Locked):
        await village_clerk.enter(new_uow, token, now=NOW + timedelta(minutes=1))
    assert await village_clerk.enter(new_uow, token, now=NOW + timedelta(minutes=31))
