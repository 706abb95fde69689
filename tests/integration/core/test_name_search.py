"""The console finds a dispatch by its recipient's full name without the name reaching an index, a
statement or its parameters (which a database or a driver may log); migration 0010 gives the dispatches
stored before it their digest."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import event, insert, inspect, select

from logistics.domain.model import Party
from logistics.service.views import dispatch_json
from logistics.storage.db import create_engine
from logistics.storage.dispatch_codec import dispatch_row, recipient_key
from logistics.storage.migrate import alembic_config, upgrade
from logistics.storage.tables import dispatches
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.fixtures.dispatches import make_dispatch

NAME = "欧阳明月"


def _statements(engine) -> list[str]:
    """Every statement run on `engine` from now on, with its parameters, as text."""
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(f"{statement} {parameters!r}")

    return seen


async def test_staff_find_a_dispatch_by_the_full_name_and_no_statement_carries_it(engine):
    uow = unit_of_work_factory(engine)
    wanted = make_dispatch("NAME-1", recipient=Party(NAME, "13900001111"))
    other = make_dispatch("NAME-2", recipient=Party("欧阳明", "13900002222"))
    async with uow() as u:
        for d in (wanted, other):
            await u.dispatches.insert_new(d, request_hash=d.case_no, response=dispatch_json(d))
    seen = _statements(engine)
    async with uow(read_only=True) as u:
        found, total = await u.console.search_dispatches(statuses=None, q=f" {NAME} ")
        partial, _ = await u.console.search_dispatches(statuses=None, q="欧阳")
    assert ([d.case_no for d in found], total) == (["NAME-1"], 1)
    assert found[0].recipient.name == NAME and partial == []
    assert seen and not [s for s in seen if NAME in s or "欧阳" in s]
    async with engine.connect() as conn:
        keys = set(await conn.scalars(select(dispatches.c.recipient_key)))
    assert keys == {recipient_key(NAME), recipient_key("欧阳明")} and not any("欧" in k for k in keys)


async def test_migration_0010_gives_stored_dispatches_their_name_digest(db_url):
    engine = create_engine(db_url)
    try:
        before = ScriptDirectory.from_config(alembic_config()).get_revision("0010").down_revision
        await upgrade(engine, before)
        d = make_dispatch("OLD-1", recipient=Party(NAME, "13900001111"))
        async with engine.begin() as conn:
            columns = await conn.run_sync(lambda c: {x["name"] for x in inspect(c).get_columns("dispatches")})
            assert "recipient_key" not in columns
            row = {k: v for k, v in dispatch_row(d, "h", dispatch_json(d)).items() if k in columns}
            await conn.execute(insert(dispatches).values(**row))
        await upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.scalar(select(dispatches.c.recipient_key)) == recipient_key(NAME)
        async with unit_of_work_factory(engine)(read_only=True) as u:
            found, _ = await u.console.search_dispatches(statuses=None, q=NAME)
        assert [x.case_no for x in found] == ["OLD-1"]
    finally:
        await engine.dispose()
