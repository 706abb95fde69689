"""A running certpost: the use cases' `Deps` and the parts that have a lifecycle, started and stopped in
one place. Built by `logistics.bootstrap`; `logistics.web.app` serves it."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from .jobs.instances import InstanceRegistry
from .jobs.scheduler import LeasedScheduler
from .jobs.worker import WorkerPool
from .service import pool
from .service.citizen_throttle import CitizenThrottle
from .service.deps import Deps
from .service.pull import Puller
from .storage.group_commit import GroupCommitter
from .storage.migrate import upgrade

STARTUP_WAIT_S = 30.0
"""How long a starting gateway waits for a database that is away (restarting) before giving up."""


class Part(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Session(Protocol):
    """An HTTP client holding a session (the pull page source)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...


@dataclass
class System:
    deps: Deps
    engine: AsyncEngine
    intake: GroupCommitter
    """Signed intake: requests arriving together are validated in one pass and share one commit."""
    committer: Part
    """Group commit of the job handlers' small writes (`deps.writes`)."""
    citizen_throttle: CitizenThrottle
    workers: WorkerPool | None = None
    instance: InstanceRegistry | None = None
    """This instance among the deployment's: heartbeat, carrier rate share, dead peers' jobs handed back."""
    scheduler: LeasedScheduler | None = None
    """Leader-leased periodic work: the tracking poll sweep and pull intake."""
    puller: Puller | None = None
    pull_source: Session | None = None
    migrate: bool = True
    _running: AsyncExitStack | None = field(default=None, init=False, repr=False)

    def wake_workers(self) -> None:
        if self.workers is not None:
            self.workers.wake()

    async def start(self) -> None:
        """Everything up, in order; if a step fails, what was started is stopped again."""
        async with AsyncExitStack() as stack:
            deps = self.deps
            stack.push_async_callback(self.engine.dispose)
            if deps.carrier is not None:
                stack.push_async_callback(deps.carrier.close)
            if hasattr(deps.notifier, "close"):
                stack.push_async_callback(deps.notifier.close)
            if self.puller is not None and self.pull_source is not None:
                await self.pull_source.open()
                stack.push_async_callback(self.pull_source.close)
            sender = deps.callback_sender
            if sender is not None and hasattr(sender, "open"):
                await sender.open()
            if sender is not None and hasattr(sender, "close"):
                stack.push_async_callback(sender.close)
            if self.migrate:
                await upgrade(self.engine, wait_s=STARTUP_WAIT_S)
            for part in (self.intake, self.committer):
                await part.start()
                stack.push_async_callback(part.stop)
            if self.instance is not None:
                await self.instance.start()
                stack.push_async_callback(self.instance.stop)  # after the workers handed their jobs back
            if self.workers is not None:
                await self.workers.start()
                stack.push_async_callback(self.workers.stop)
                if deps.carrier is not None:
                    await pool.request_refill(deps)
            if self.scheduler is not None:
                await self.scheduler.start()
                stack.push_async_callback(self.scheduler.stop)
            self._running = stack.pop_all()

    async def stop(self) -> None:
        """Everything down, in the reverse order: the engine is disposed last."""
        running, self._running = self._running, None
        if running is not None:
            await running.aclose()
