"""Intake's group commit on SQLite without SQLAlchemy: the fast path behind `sqlite_fast_writes`.

Each batch is planned by the same planner as everywhere (`service.intake.plan_intake`, injected by the
composition root) over the cases read on the writer's own DB-API connection, then written with a few
`executemany` calls (`RawRows`) on the event loop's thread and committed to the OS (`SqliteWriter`);
`durable` fsyncs the WAL before anyone is answered. A case inserted meanwhile by another process fails
the insert: the group committer then records each request alone through the unit of work."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from ...ports.repositories.dispatches import NewCase
from .raw_rows import RawRows
from .writer import Busy, SqliteWriter

# Another connection still holds SQLite's write lock: wait a moment rather than fall back to one
# transaction per item. Most often it is a writer of this process whose COMMIT is syncing to disk: it
# hands the gate on when its commit begins (SQLAlchemy's "commit" event comes before the COMMIT).
BUSY_DELAYS = (0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)

Planner = Callable[[list[Any], dict], Any]
"""(intake requests, {key: (request_hash, response)} stored) -> a plan with `new` (NewCase) and
`results` (`service.intake.plan_intake`)."""


class FastIntake:
    def __init__(self, engine: Engine, gate: asyncio.Lock, plan: Planner):
        self.writer, self.rows, self.gate, self.plan = (
            SqliteWriter(engine),
            RawRows(engine.dialect),
            gate,
            plan,
        )

    async def write(self, reqs: list[Any]) -> list[Any]:
        # The gate is kept while waiting: let go, the next writer of this process would take the lock
        # as soon as it is free, and under steady load (booking) the batch would never get its turn.
        async with self.gate:  # takes its turn like any other writer of this process
            for delay in BUSY_DELAYS:
                with contextlib.suppress(Busy):
                    return self.writer.write(self._batch, reqs)
                await asyncio.sleep(delay)
        raise Busy()

    async def durable(self) -> None:
        await self.writer.durable()

    async def close(self) -> None:
        await self.writer.close()

    def _batch(self, dbapi, reqs: list[Any]) -> list[Any]:
        plan = self.plan(reqs, self.rows.stored_cases(dbapi, {r.key for r in reqs}))
        texts = self._write(dbapi, plan.new)
        for result in plan.results:  # the answer's body is the JSON just stored: no second encoding
            if getattr(result, "created", False):
                result.body = texts[id(result.response)]
        return plan.results

    def _write(self, dbapi, cases: list[NewCase]) -> dict[int, str]:
        rows = self.rows
        dispatches, events, jobs, texts = [], [], [], {}
        for c in cases:
            d, now = c.dispatch, c.now
            text = texts[id(c.response)] = rows.json(c.response)
            stamp = rows.when(now)
            dispatches.append(
                rows.dispatch(
                    d, c.request_hash, text, stamp if d.created_at is now else rows.when(d.created_at)
                )
            )
            events += [rows.event(d.id, e, stamp if e.at is now else rows.when(e.at)) for e in c.events]
            if c.job is not None:
                kind, payload, dedupe_key = c.job
                jobs.append(rows.job(kind, payload, dedupe_key, c.max_attempts, stamp))
        rows.write(dbapi, dispatches, events, jobs)
        return texts
