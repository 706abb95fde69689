"""Migration 0014: a database at 0011 with dispatches keeps every row and index, and a case may then have
one dispatch per direction (never two of one direction), on SQLite and PostgreSQL; its case events are
stored once per (client, case, stage, time)."""

from __future__ import annotations

from sqlalchemy import func, insert, inspect, select

from logistics.domain.model import AuditEvent, Direction
from logistics.domain.status import Status
from logistics.service.views import dispatch_json
from logistics.storage.db import create_engine
from logistics.storage.dispatch_codec import dispatch_row, event_row
from logistics.storage.migrate import upgrade
from logistics.storage.tables import dispatch_events, dispatches
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.fixtures.dispatches import NOW, make_dispatch


def _indexes(sync_conn) -> set[str]:
    return {i["name"] for i in inspect(sync_conn).get_indexes("dispatches") if i["name"].startswith("ix_")}


def _unique(sync_conn) -> set[str]:
    return {u["name"] for u in inspect(sync_conn).get_unique_constraints("dispatches")}


async def test_existing_dispatches_stay_and_a_case_gets_one_dispatch_per_direction(db_url):
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0011")
        old = make_dispatch("OLD-1", waybill_no="1100000000013")
        async with engine.begin() as conn:
            await conn.execute(insert(dispatches).values(**dispatch_row(old, "h-old", dispatch_json(old))))
            event = AuditEvent(NOW, "system", "received", None, Status.RECEIVED)
            await conn.execute(insert(dispatch_events).values(**event_row(old.id, event)))
            before = await conn.run_sync(_indexes)
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_indexes) == before  # SQLite copies the table: its indexes come too
            assert await conn.run_sync(_unique) == {
                "uq_dispatch_client_case_direction",
                "uq_dispatch_order",
                "uq_dispatch_waybill",
            }
        new_uow = unit_of_work_factory(engine)
        inbound = make_dispatch("OLD-1", direction=Direction.INBOUND)
        async with new_uow() as uow:
            got = await uow.dispatches.get(old.id)
            assert dispatch_json(got) == dispatch_json(old)
            assert len(await uow.dispatches.events(old.id)) == 1
            assert (await uow.dispatches.find_by_case("approval", "OLD-1")).request_hash == "h-old"
            assert await uow.dispatches.insert_new(
                inbound, request_hash="h-in", response=dispatch_json(inbound)
            )
            again = make_dispatch("OLD-1")
            assert not await uow.dispatches.insert_new(
                again, request_hash="h2", response=dispatch_json(again)
            )
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(dispatches)) == 2
        async with new_uow(read_only=True) as uow:
            both = await uow.dispatches.of_case("approval", "OLD-1")
        assert sorted(d.direction.value for d in both) == ["inbound", "outbound"]
    finally:
        await engine.dispose()
