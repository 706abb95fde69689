"""Several instances started at the same moment on an empty database all come up: the start-up
migration runs under a lock (PostgreSQL: an advisory lock; SQLite: its write lock)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import pytest
from sqlalchemy import text

from logistics.storage.db import create_engine
from tests.conftest import PG_URL, _reset_postgres
from tests.e2e.gateway import Gateway

INSTANCES = 3


def _backends():
    yield pytest.param("sqlite", id="sqlite")
    yield pytest.param(
        "postgres",
        id="postgres",
        marks=pytest.mark.skipif(
            not PG_URL, reason="CERTPOST_TEST_PG_URL not set (.ci/run starts PostgreSQL)"
        ),
    )


@pytest.fixture(params=list(_backends()))
def empty_db(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/shared.db"
    asyncio.run(_reset_postgres(PG_URL))
    return PG_URL


def _versions(url: str) -> list[str]:
    async def read():
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return list(await conn.scalars(text("SELECT version_num FROM alembic_version")))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _head() -> str:
    from alembic.script import ScriptDirectory

    from logistics.storage.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _together(actions) -> list:
    """Run the callables at the same moment (threads released by one barrier); their results or errors."""
    barrier, results = threading.Barrier(len(actions)), [None] * len(actions)

    def run(i, action):
        barrier.wait()
        try:
            results[i] = action()
        except Exception as e:  # reported by the test
            results[i] = e

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_serve_instances_started_together_on_an_empty_database_all_come_up(empty_db, tmp_path):
    gateways = []
    for i in range(INSTANCES):
        workdir = tmp_path / f"gw{i}"
        workdir.mkdir()
        gateways.append(Gateway(workdir, CERTPOST_DATABASE_URL=empty_db, CERTPOST_AUTO_BOOK="false"))
    try:
        results = _together([lambda g=g: g.start(timeout=90) for g in gateways])
        logs = [(g.dir / "serve.log").read_text()[-1500:] for g in gateways]
        assert all(r is g for r, g in zip(results, gateways, strict=True)), (results, logs)
        for g in gateways:
            assert g.request("GET", "/healthz")[0] == 200
    finally:
        for g in gateways:
            g.stop()
    assert _versions(empty_db) == [_head()]


def test_db_upgrade_commands_run_together_on_an_empty_database_all_succeed(empty_db, tmp_path):
    env = {**Gateway(tmp_path).env, "CERTPOST_DATABASE_URL": empty_db}
    cmd = [sys.executable, "-m", "logistics.cli", "db", "upgrade"]
    runs = _together(
        [lambda: subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)]
        * INSTANCES
    )
    assert [r.returncode for r in runs] == [0] * INSTANCES, [r.stderr[-1500:] for r in runs]
    assert _versions(empty_db) == [_head()]
