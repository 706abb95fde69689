"""Several `certpost serve` instances on one database, one deployment toward the carrier and the job queue.

Each instance registers in `instances` and heartbeats every `heartbeat_s`; one whose heartbeat is older
than `dead_after_s` is dead: a live instance hands its claimed jobs back to the queue at once (instead of
when each job's lease runs out) and forgets it. A graceful stop deregisters (the worker pool has released
its jobs by then).

The same heartbeat shares the carrier's pace: each instance publishes its demand (calls waiting for the
carrier) and runs at its share of the deployment's rate, weighted by demand, so the live instances
together send the configured rate, however many there are. Without a configured rate, the rate learned
from 429s and the carrier's Retry-After are kept in `carrier_pace` for all instances."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ..ports import Clock
from ..service.resilience import Pacer
from ..storage import instance_repo as repo

log = logging.getLogger("certpost.instances")

CUT_ROUND_S = 2.0
"""Throttles within this long of a cut (by any instance) are the same burst's: they do not cut again
(the other instances hear of a cut at their next heartbeat)."""


def new_instance_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def shares(demands: dict[str, int]) -> dict[str, float]:
    """Each live instance's fraction of the carrier rate: weighted by its demand, plus a little for every
    instance so an idle one's first calls are not starved (the fractions add up to 1)."""
    if not demands:
        return {}
    base = 1.0 + 0.02 * sum(demands.values()) / len(demands)
    weights = {i: d + base for i, d in demands.items()}
    total = sum(weights.values())
    return {i: w / total for i, w in weights.items()}


class InstanceRegistry:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        *,
        instance_id: str | None = None,
        heartbeat_s: float = 1.0,
        dead_after_s: float = 10.0,
        pacer: Pacer | None = None,
        carrier: str = "carrier",
    ):
        self.engine, self.clock = engine, clock
        self.id = instance_id or new_instance_id()
        self.heartbeat_s, self.dead_after_s = heartbeat_s, dead_after_s
        self.pacer, self.carrier = pacer, carrier
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.started_at = clock.now()
        self.live: list[str] = []
        self._connected_since: float | None = None  # monotonic: heartbeats have succeeded since
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        if pacer is not None:
            pacer.on_news = self._wake.set

    async def start(self) -> None:
        try:
            await self.beat()
        except Exception:
            log.exception("instance %s: first heartbeat failed", self.id)
        self._task = asyncio.create_task(self._run(), name="instance-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            async with self.engine.begin() as conn:
                await repo.deregister(conn, self.id)
        except Exception:
            log.warning("instance %s: could not deregister; the others will find it dead", self.id)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.heartbeat_s)
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self._connected_since = None
                log.warning("instance %s: heartbeat failed: %s", self.id, type(e).__name__)

    async def beat(self) -> None:
        """Heartbeat, share the carrier's pace, and hand back the jobs of dead instances."""
        now = self.clock.now()
        pacer = self.pacer
        news = pacer.take_news() if pacer is not None else None
        demand = pacer.demand if pacer is not None else 0
        try:
            async with self.engine.begin() as conn:
                await repo.heartbeat(
                    conn, self.id, host=self.host, pid=self.pid, started_at=self.started_at, now=now,
                    demand=demand,
                )  # fmt: skip
                peers = await repo.live(conn, now=now, dead_after_s=self.dead_after_s)
                pace = await self._share_pace(conn, news, now) if pacer is not None else None
        except BaseException:
            if pacer is not None:  # the database was away: tell the others next time
                pacer.keep_news(news)
            raise
        self.live = [p.id for p in peers]
        if pacer is not None:
            demands = {p.id: p.demand for p in peers} | {self.id: demand}
            pause_s = (pace.resume_at - self.clock.now()).total_seconds() if pace and pace.resume_at else 0.0
            rate = pace.rate_per_s if pace is not None else None
            pacer.apply_share(
                shares(demands)[self.id], live=len(demands), deployment_rate=rate, pause_s=pause_s
            )
        mono = time.monotonic()
        if self._connected_since is None:
            self._connected_since = mono
        # After an outage everyone's heartbeat is old: reap only once the live ones have had time to beat.
        if mono - self._connected_since >= self.dead_after_s:
            await self.reap()

    async def _share_pace(self, conn, news, now) -> repo.SharedPace:
        if news.pause_end > time.monotonic():
            until = now + timedelta(seconds=news.pause_end - time.monotonic())
            await repo.pause_until(conn, self.carrier, until, now=now)
        if self.pacer.adaptive:
            if news.cut_to is not None:
                await repo.cut_pace(
                    conn, self.carrier, news.cut_to, now=now, round_s=max(CUT_ROUND_S, 2 * self.heartbeat_s)
                )
            elif news.accepted:
                current = await repo.read_pace(conn, self.carrier)
                if current.rate_per_s:
                    by = news.accepted * self.pacer.increase_per_s / current.rate_per_s
                    await repo.raise_pace(conn, self.carrier, by, now=now)
        return await repo.read_pace(conn, self.carrier)

    async def reap(self) -> list[str]:
        async with self.engine.begin() as conn:
            dead, released = await repo.reap_dead(conn, now=self.clock.now(), dead_after_s=self.dead_after_s)
        if dead:
            log.warning(
                "instance %s: %d instance(s) dead (no heartbeat for %.0f s): %d claimed job(s) handed back",
                self.id, len(dead), self.dead_after_s, released,
            )  # fmt: skip
        return dead
