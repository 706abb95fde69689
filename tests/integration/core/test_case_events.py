"""Case events on SQLite and PostgreSQL: concurrent identical posts of a stage store it once and answer
201 then 200; a conflicting one is refused and writes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from logistics.domain.case_progress import Stage
from logistics.domain.errors import Conflict
from logistics.service.cases import CaseEventRequest, record_case_event
from logistics.storage.tables import case_events
from logistics.storage.unit_of_work import SqlUnitOfWorkFactory, unit_of_work_factory
from tests.fixtures.dispatches import NOW


def posted(request_hash: str = "h1", hall: str = "default") -> CaseEventRequest:
    return CaseEventRequest(
        hall, "approval", "CC-1", Stage.REGISTERED, NOW - timedelta(days=1), "", "食品经营许可证核发",
        "13807961234", request_hash, NOW,
    )  # fmt: skip


async def test_concurrent_identical_posts_store_the_stage_once(engine):
    new_uow = unit_of_work_factory(engine)
    results = await asyncio.gather(*(record_case_event(new_uow(), posted()) for _ in range(6)))
    assert sorted(r.created for r in results) == [False] * 5 + [True]
    assert len({str(r.response) for r in results}) == 1
    with pytest.raises(Conflict):
        await record_case_event(new_uow(), posted("other"))
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(case_events)) == 1


async def test_a_stage_sent_again_after_the_client_moved_to_another_hall_is_a_conflict_not_a_crash(engine):
    await record_case_event(unit_of_work_factory(engine)(), posted())
    in_af = SqlUnitOfWorkFactory(engine, hall="AF")
    with pytest.raises(Conflict, match="another hall"):
        await record_case_event(in_af(), posted(hall="AF"))
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(case_events)) == 1
