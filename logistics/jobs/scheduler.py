"""Periodic work on exactly one instance: APScheduler 3.x runs the ticks, a database lease decides who.

APScheduler 3.x cannot share its job store between processes, so every instance runs a scheduler but
only the holder of the `leases` row acts on a tick. The holder renews the lease every third of `lease_s`;
when it dies, another instance (trying every third of `lease_s` too) takes over within `lease_s * 4 / 3`
(12 s with the default 9 s); a graceful stop releases it at once. Ticks only queue durable jobs."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..ports import Clock
from ..storage.tables import leases

log = logging.getLogger("certpost.scheduler")

Tick = Callable[[], Awaitable[object]]


async def take_lease(conn: AsyncConnection, name: str, holder: str, *, now: datetime, lease_s: float) -> bool:
    """Renew our lease or take an expired one; False when another holder's lease is still running."""
    until = now + timedelta(seconds=lease_s)
    renewed = await conn.execute(
        update(leases)
        .where(leases.c.name == name, (leases.c.holder == holder) | (leases.c.until < now))
        .values(holder=holder, until=until)
    )
    if renewed.rowcount == 1:
        return True
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(leases).values(name=name, holder=holder, until=until)
    taken = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    return taken.rowcount == 1  # 0: the row exists and someone else holds it


async def release_lease(conn: AsyncConnection, name: str, holder: str) -> None:
    await conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))


class LeasedScheduler:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        *,
        name: str = "scheduler",
        lease_s: float = 9.0,
        holder: str | None = None,
    ):
        self.engine, self.clock, self.name, self.lease_s = engine, clock, name, lease_s
        self.holder = holder or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._ticks: list[tuple[str, float, Tick]] = []
        self._held_until = 0.0  # monotonic: we act only while our last renewal is surely valid
        self._scheduler: AsyncIOScheduler | None = None

    def every(self, name: str, interval_s: float, tick: Tick) -> None:
        self._ticks.append((name, interval_s, tick))

    @property
    def leading(self) -> bool:
        return time.monotonic() < self._held_until

    async def renew(self) -> bool:
        started = time.monotonic()
        try:
            async with self.engine.begin() as conn:
                held = await take_lease(
                    conn, self.name, self.holder, now=self.clock.now(), lease_s=self.lease_s
                )
        except Exception:
            log.exception("scheduler lease renewal failed")
            held = False
        # A little margin so two instances never act at once even with clock skew between them.
        self._held_until = started + self.lease_s * 0.8 if held else 0.0
        return held

    async def start(self) -> None:
        await self.renew()
        sched = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        sched.add_job(
            self.renew, "interval", seconds=self.lease_s / 3, id="lease", max_instances=1, coalesce=True
        )
        for name, interval_s, tick in self._ticks:
            sched.add_job(
                self._guarded(name, tick), "interval", seconds=interval_s, id=name, max_instances=1,
                coalesce=True, next_run_time=datetime.now().astimezone(),
            )  # fmt: skip
        sched.start()
        self._scheduler = sched

    def _guarded(self, name: str, tick: Tick) -> Tick:
        async def run() -> None:
            if not self.leading:
                return
            log.debug("scheduled %s on %s", name, self.holder)  # the scale-out test reads these
            try:
                await tick()
            except Exception:
                log.exception("scheduled %s failed", name)

        return run

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self.leading:
            self._held_until = 0.0
            async with self.engine.begin() as conn:
                await release_lease(conn, self.name, self.holder)
