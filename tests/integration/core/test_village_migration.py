"""Migration 0012 on SQLite and PostgreSQL: every village point code that dispatches already carry gets
a registry row of its hall (inactive, no address yet: staff complete it), and those dispatches keep
working: listed under the point, booked to the citizen's own address as before until it has one."""

from __future__ import annotations

from sqlalchemy import insert

from logistics.config import SAMPLE_HALL as SAMPLE
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
from tests.fixtures.dispatches import make_dispatch

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
