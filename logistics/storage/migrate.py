"""Apply Alembic migrations on an async engine (at start-up and by `certpost db upgrade`).

Several instances may start at the same moment on an empty database: on PostgreSQL the upgrade runs
under a session advisory lock, so one migrates while the others wait and then find the schema at head.
On SQLite the upgrade is one write transaction (BEGIN IMMEDIATE, `storage.sqlite.engine`): other
processes wait for SQLite's write lock (the busy timeout, which is set before anything else on a new
connection)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .outage import database_unavailable

log = logging.getLogger("certpost.storage")
MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x63657274706F7374 >> 1  # "certpost" as a bigint: the advisory lock's key


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head", *, wait_s: float = 0.0) -> None:
    """Migrate to `revision`; while the database is away, try again for up to `wait_s` seconds (a
    gateway starting while PostgreSQL restarts)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await _upgrade(engine, revision)
        except Exception as e:
            if not database_unavailable(e) or time.monotonic() >= deadline:
                raise
            log.warning("database unavailable at start-up (%s): trying again", type(e).__name__)
            await asyncio.sleep(1.0)


async def _upgrade(engine: AsyncEngine, revision: str) -> None:
    def run(sync_conn):
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    if engine.dialect.name != "postgresql":
        async with engine.begin() as conn:
            await conn.run_sync(run)
        return
    async with engine.connect() as lock_conn:  # the lock's own session: it outlives the upgrade's transaction
        await _advisory(lock_conn, "pg_advisory_lock")
        try:
            async with engine.begin() as conn:
                await conn.run_sync(run)
        finally:
            await _advisory(lock_conn, "pg_advisory_unlock")


async def _advisory(conn: AsyncConnection, function: str) -> None:
    await conn.execute(text(f"SELECT {function}(:key)"), {"key": MIGRATION_LOCK})
    await conn.commit()
