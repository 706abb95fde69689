"""What only SQLite needs: its engine (WAL, durable commits, the in-process write gate) and, behind the
one switch `Settings.sqlite_fast_writes` (CERTPOST_SQLITE_FAST_WRITES, default on), its fast paths: the
fast intake writer (raw DB-API rows written on the event loop's thread, made durable by one fsync of the
WAL in a thread, with checkpoints in a thread) and the loop-thread reader of citizen lookups (`reader`).
Off, intake's group commit writes through the unit of work and lookups read on a pooled connection, as on
PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import create_writer_engine, write_gate
from .fast_intake import FastIntake, Planner


def use_fast_paths(engine: AsyncEngine, enabled: bool) -> None:
    """Turn this engine's fast paths on or off (the switch; on unless told)."""
    engine.sync_engine.update_execution_options(sqlite_fast_paths=enabled)


def fast_paths_on(engine: AsyncEngine) -> bool:
    return engine.sync_engine.get_execution_options().get("sqlite_fast_paths", True)


def fast_intake(engine: AsyncEngine, url: str, plan: Planner, *, enabled: bool) -> FastIntake | None:
    """The fast intake writer for a SQLite file when the switch is on; None otherwise."""
    gate = write_gate(engine)
    if not enabled or not fast_paths_on(engine) or gate is None:
        return None
    writer = create_writer_engine(url)
    return FastIntake(writer, gate, plan) if writer is not None else None


__all__ = ["FastIntake", "Planner", "fast_intake", "fast_paths_on", "use_fast_paths"]
