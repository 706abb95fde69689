"""Migration 0012 on SQLite and PostgreSQL: every village point code that dispatches already carry gets
a registry row of its hall (inactive, no address yet: staff complete it), and those dispatches keep
working: listed under the point, booked to the citizen's own address as before until it has one. Such a
point is activated only once it is complete (its clerk too)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from logistics.config import SAMPLE_HALL as SAMPLE
from logistics.domain.errors import InvalidInput
from logistics.domain.model import DeliveryMethod
from logistics.domain.status import Status
from logistics.service import village_points
from logistics.service.shipments import shipment_for
from logistics.service.views import dispatch_json
from logistics.storage.db import create_engine
from logistics.storage.dispatch_codec import dispatch_row
from logistics.storage.migrate import upgrade
from logistics.storage.tables import dispatches
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.fixtures.dispatches import NOW, make_dispatch

VILLAGE = {"delivery_method": DeliveryMethod.VILLAGE_POINT}


async def test_codes_in_use_become_inactive_points_of_their_hall(db_url):
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0011")
        old = [
            make_dispatch("OLD-1", village_point_code="P-01", **VILLAGE),
            make_dispatch("OLD-2", village_point_code="P-01", **VILLAGE),
            make_dispatch("OLD-3", village_point_code="P-02", hall="YX", **VILLAGE),
            make_dispatch("OLD-4"),
        ]
        async with engine.begin() as conn:
            for d in old:
                await conn.execute(
                    insert(dispatches).values(**dispatch_row(d, "h-" + d.case_no, dispatch_json(d)))
                )
        await upgrade(engine)
        new_uow = unit_of_work_factory(engine)
        points = await village_points.listed(new_uow(read_only=True))
        assert [(p.hall, p.code, p.active, p.addressable, p.town) for p in points] == [
            ("YX", "P-02", False, False, "洲湖镇"), ("default", "P-01", False, False, "洲湖镇"),
        ]  # fmt: skip
        listed = await village_points.parcels(new_uow(read_only=True), "default", "P-01")
        assert [d.case_no for d in listed] == ["OLD-1", "OLD-2"] and listed[0].status is Status.RECEIVED
        point = next(p for p in points if p.code == "P-01")
        shipment = shipment_for(listed[0], SAMPLE, point)
        assert shipment.receiver == listed[0].recipient  # no address yet: booked as it always was
    finally:
        await engine.dispose()


async def test_a_migrated_point_is_activated_only_once_it_has_a_clerk(db_url):
    """An address alone does not make a point migration 0012 registered usable: activating it (the API's
    PATCH or the console's 启用 button) is refused naming the clerk's fields until they are given."""
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0011")
        old = make_dispatch("OLD-1", village_point_code="P-01", **VILLAGE)
        async with engine.begin() as conn:
            await conn.execute(insert(dispatches).values(**dispatch_row(old, "h-1", dispatch_json(old))))
        await upgrade(engine)
        new_uow = unit_of_work_factory(engine)
        address = {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "洲湖镇",
                   "detail": "洲湖村村委会", "postcode": "343200"}  # fmt: skip

        async def change(values: dict):
            return await village_points.change(new_uow(), "default", "P-01", values, actor="s", now=NOW)

        with pytest.raises(InvalidInput) as refused:  # PATCH {"address": {...}, "active": true}
            await change({"address": address, "active": True})
        assert {f for f, _ in refused.value.errors} == {"clerk_name", "clerk_phone"}
        assert "经办人电话：必填" in refused.value.errors[-1][1]
        point = await change({"address": address})  # kept inactive: saved
        assert point.addressable and not point.active
        with pytest.raises(InvalidInput) as refused:  # the console's 启用 button: {"active": true}
            await change({"active": True})
        assert {f for f, _ in refused.value.errors} == {"clerk_name", "clerk_phone"}
        assert not (await village_points.get(new_uow(), "default", "P-01")).active
        done = await change({"clerk_name": "李桂英", "clerk_phone": "13907960001", "active": True})
        assert done.active and done.clerk_phone == "13907960001"
        new = make_dispatch("NEW-1", village_point_code="P-01", **VILLAGE)
        await village_points.check_intake(new_uow(read_only=True), new)  # takes parcels now
    finally:
        await engine.dispose()
