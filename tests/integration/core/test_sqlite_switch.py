"""One switch, `CERTPOST_SQLITE_FAST_WRITES` (default on), selects SQLite's fast intake writer; off, intake
goes through the unit of work as on PostgreSQL. Either way a push is stored and answered the same."""

from __future__ import annotations

import json
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from logistics import bootstrap
from logistics.config import Settings
from logistics.domain.signing import sign_headers
from logistics.service import citizen
from logistics.service.intake import IntakeRequest, record_intake
from logistics.storage.db import create_engine
from logistics.storage.migrate import upgrade
from logistics.storage.sqlite import FastIntake
from logistics.storage.sqlite.reader import SqliteReader
from logistics.storage.tracking import SqlCitizenLookup
from logistics.web.keys import COMMITTER
from tests.fixtures.dispatches import NOW, intake_body, make_dispatch

SECRET = "s"


def settings(tmp_path, **over) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db", clients={"approval": SECRET}, **over)


def test_the_switch_is_on_by_default_and_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("CERTPOST_SQLITE_FAST_WRITES", raising=False)
    assert settings(tmp_path).sqlite_fast_writes is True
    monkeypatch.setenv("CERTPOST_SQLITE_FAST_WRITES", "0")
    assert settings(tmp_path).sqlite_fast_writes is False


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
async def test_the_switch_selects_the_intake_writer(tmp_path, monkeypatch, fast):
    written = []
    real = FastIntake.write

    async def spy(self, reqs):
        written.append(len(reqs))
        return await real(self, reqs)

    monkeypatch.setattr(FastIntake, "write", spy)
    app = bootstrap.app(settings(tmp_path, sqlite_fast_writes=fast, auto_book=False), run_workers=False)
    assert isinstance(app[COMMITTER].fast, FastIntake) is fast
    async with TestClient(TestServer(app)) as client:
        body = json.dumps(intake_body("SW1"), ensure_ascii=False).encode()
        headers = {
            **sign_headers("approval", SECRET, body, int(time.time())),
            "Content-Type": "application/json",
        }
        first = await client.post("/api/v1/dispatches", data=body, headers=headers)
        replay = await client.post("/api/v1/dispatches", data=body, headers=headers)
        assert (first.status, replay.status) == (201, 200)
        assert await first.json() == await replay.json()
    assert written == ([1, 1] if fast else [])


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
async def test_the_switch_selects_the_citizen_lookups_reader(tmp_path, fast):
    """On, a citizen lookup reads the SQLite file on the loop's thread; off, on a pooled connection, and
    finds the same dispatch either way."""
    chosen = settings(tmp_path, sqlite_fast_writes=fast)
    engine = create_engine(chosen.database_url)
    made = bootstrap.deps(chosen, engine=engine)
    try:
        await upgrade(engine)
        async with made.uow() as uow:
            d = make_dispatch("SW-1")
            await record_intake(uow, IntakeRequest(d, "SW-1", NOW, False, 5))
        assert (SqliteReader.of(engine) is not None) is fast
        found = await citizen.find(
            SqlCitizenLookup(engine), phone_last4=d.recipient.phone[-4:], case_no="SW-1"
        )
        assert found is not None and found["case_no"] == "SW-1"
    finally:
        await engine.dispose()
