"""Shared fixtures: databases (SQLite always, PostgreSQL when CERTPOST_TEST_PG_URL is set)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from logistics.storage.db import create_engine
from logistics.storage.migrate import upgrade

PG_URL = os.environ.get("CERTPOST_TEST_PG_URL")

# Child processes (`python -m logistics.cli serve` …) run from temporary directories: they import this
# tree's code, not whichever checkout was last installed in editable mode.
ROOT = Path(__file__).resolve().parents[1]
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])


def _backends():
    yield pytest.param("sqlite", id="sqlite")
    yield pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not PG_URL, reason="CERTPOST_TEST_PG_URL not set (.ci/run starts PostgreSQL)"),
        ],
    )


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=list(_backends()))
async def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/test.db"
    await _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
async def engine(db_url):
    engine = create_engine(db_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


def pytest_report_header(config):
    # Settings read CERTPOST_SQLITE_FAST_WRITES, so every gateway the tests start (in process or
    # `certpost serve`) honours it: CI runs the suite with it on (the default) and off.
    from logistics.config import Settings

    return f"SQLite fast writes: {Settings().sqlite_fast_writes} (CERTPOST_SQLITE_FAST_WRITES)"
