"""What only SQLite needs: its engine (WAL, durable commits, the in-process write gate) and, behind the
one switch `Settings.sqlite_fast_writes` (CERTPOST_SQLITE_FAST_WRITES, default on), the fast intake
writer: raw DB-API rows written on the event loop's thread, made durable by one fsync of the WAL in a
thread, with checkpoints in a thread. Off, intake's group commit writes through the unit of work as on
PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import create_writer_engine, write_gate
from .fast_intake import FastIntake, Planner


def fast_intake(engine: AsyncEngine, url: str, plan: Planner, *, enabled: bool) -> FastIntake | None:
    """The fast intake writer for a SQLite file when the switch is on; None otherwise."""
    gate = write_gate(engine)
    if not enabled or gate is None:
        return None
    writer = create_writer_engine(url)
    return FastIntake(writer, gate, plan) if writer is not None else None


__all__ = ["FastIntake", "Planner", "fast_intake"]
