"""The repository contract: every test here runs against the SQL unit of work (SQLite, and PostgreSQL
when CERTPOST_TEST_PG_URL is set) and against the fake one of use-case tests, so the fake behaves as
the real thing does."""

from __future__ import annotations

import pytest

from logistics.domain.model import Dispatch
from logistics.service.views import dispatch_json
from logistics.storage.db import create_engine
from logistics.storage.migrate import upgrade
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.conftest import PG_URL, _reset_postgres
from tests.fakes import FakeUnitOfWorkFactory


@pytest.fixture(
    params=[
        "fake",
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not PG_URL, reason="CERTPOST_TEST_PG_URL not set"),
            ],
        ),
    ]
)
async def new_uow(request, tmp_path):
    """A unit-of-work factory over an empty database (or fake store)."""
    if request.param == "fake":
        yield FakeUnitOfWorkFactory()
        return
    url = f"sqlite+aiosqlite:///{tmp_path}/contract.db"
    if request.param == "postgres":
        await _reset_postgres(PG_URL)
        url = PG_URL
    engine = create_engine(url)
    await upgrade(engine)
    yield unit_of_work_factory(engine)
    await engine.dispose()


async def stored(new_uow, *dispatches: Dispatch) -> None:
    """Insert dispatches in a committed unit of work."""
    async with new_uow() as uow:
        for d in dispatches:
            assert await uow.dispatches.insert_new(
                d, request_hash="h-" + d.case_no, response=dispatch_json(d)
            )
