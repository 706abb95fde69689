"""Migration 0008: a single-hall database (revision 0007) moves into the `default` hall with nothing lost,
on SQLite and PostgreSQL; its finance months then close per hall."""

from __future__ import annotations

from sqlalchemy import func, insert, select, text

from logistics.domain.hall import DEFAULT_HALL
from logistics.domain.model import AuditEvent
from logistics.domain.status import Status
from logistics.service.views import dispatch_json
from logistics.storage.db import create_engine
from logistics.storage.dispatch_codec import dispatch_row, event_row
from logistics.storage.finance_tables import finance_periods, reconciliation_runs
from logistics.storage.migrate import upgrade
from logistics.storage.tables import dispatch_events, dispatches, halls, users
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.fixtures.dispatches import NOW, make_dispatch

RUN = dict(
    id="run-1", period="2026-10", filename="oct.csv", sha256="a" * 64, tariff_sha256="default",
    summary={"totals": {"billed_fen": 800}}, result="{}", created_by="fin", created_at=NOW,
)  # fmt: skip


async def _single_hall_rows(engine):
    """Rows as a deployment before halls wrote them (no hall column anywhere)."""
    a, b = make_dispatch("OLD-1"), make_dispatch("OLD-2")
    async with engine.begin() as conn:
        for d in (a, b):
            row = dispatch_row(d, "h-" + d.case_no, dispatch_json(d))
            del row["hall"], row["recipient_key"]  # 0008 and 0010 add them
            await conn.execute(insert(dispatches).values(**row))
        event = AuditEvent(NOW, "system", "received", None, Status.RECEIVED)
        await conn.execute(insert(dispatch_events).values(**event_row(a.id, event)))
        await conn.execute(
            insert(users).values(name="old-admin", role="admin", token_hash="t" * 64, created_at=NOW)
        )
        await conn.execute(insert(reconciliation_runs).values(**RUN))
        await conn.execute(
            text("INSERT INTO finance_periods (period, status, run_id) VALUES ('2026-10', 'closed', 'run-1')")
        )
    return a, b


async def test_a_single_hall_database_moves_into_the_default_hall(db_url):
    engine = create_engine(db_url)
    try:
        await upgrade(engine, "0007")
        a, b = await _single_hall_rows(engine)
        await upgrade(engine)
        async with engine.connect() as conn:
            assert (await conn.execute(select(halls.c.code))).scalars().all() == [DEFAULT_HALL]
            assert set((await conn.execute(select(dispatches.c.hall))).scalars()) == {DEFAULT_HALL}
            assert (await conn.execute(select(users.c.hall))).scalars().all() == [None]  # an admin over all
            assert (await conn.execute(select(reconciliation_runs.c.hall))).scalars().all() == [DEFAULT_HALL]
            assert await conn.scalar(select(func.count()).select_from(finance_periods)) == 1
        new_uow = unit_of_work_factory(engine)
        for scope in (None, DEFAULT_HALL):  # every hall, and the default hall's own view
            async with new_uow.for_hall(scope)(read_only=True) as uow:
                for d in (a, b):
                    got = await uow.dispatches.get(d.id)
                    assert dispatch_json(got) == dispatch_json(d)
                    assert got.hall == DEFAULT_HALL
                assert len(await uow.dispatches.events(a.id)) == 1
                assert (await uow.finance.get_run("run-1")).period == "2026-10"
                assert (await uow.finance.get_period("2026-10")).status == "closed"
                assert (await uow.users.by_name("old-admin")).hall is None
        # months close per hall now: another hall's October is still open
        async with new_uow.for_hall("YX")() as uow:
            assert (await uow.finance.lock_period("2026-10")).status == "open"
            assert await uow.finance.list_runs("2026-10") == []
            assert await uow.finance.get_run("run-1") is None
            assert await uow.finance.insert_run(**{**RUN, "id": "run-yx"})  # the same file, another hall
        async with new_uow.for_hall(DEFAULT_HALL)(read_only=True) as uow:
            assert [r.id for r in await uow.finance.list_runs("2026-10")] == ["run-1"]
            assert (await uow.finance.get_period("2026-10")).status == "closed"
    finally:
        await engine.dispose()
