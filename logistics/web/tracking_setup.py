"""Wiring for tracking (issue 5), called by the composition root: routes, job handlers, the
citizen throttle, the callback sender's session and the leased scheduler."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ..jobs.scheduler import LeasedScheduler
from ..service import callbacks, notifications, polling
from ..service.citizen_throttle import Caps, CitizenThrottle
from ..service.deps import Deps
from ..storage.tracking import SqlCitizenLookup
from . import citizen
from .api import tracking
from .client_address import networks
from .keys import ENGINE, WORKERS

SCHEDULER = web.AppKey("scheduler", LeasedScheduler)


def job_handlers(deps: Deps) -> dict:
    return {**polling.job_handlers(deps), **callbacks.job_handlers(deps), **notifications.job_handlers(deps)}


def install(app: web.Application, deps: Deps, *, run_scheduler: bool) -> None:
    settings = deps.settings
    app[tracking.CITIZEN_THROTTLE] = CitizenThrottle(deps, Caps.from_settings(settings))
    app[tracking.CITIZEN_LOOKUP] = SqlCitizenLookup(app[ENGINE])
    app[tracking.TRUSTED_PROXIES] = networks(settings.trusted_proxies)
    app.add_routes(tracking.routes)
    app.add_routes(citizen.routes)
    if run_scheduler and deps.carrier is not None:
        app[SCHEDULER] = scheduler = LeasedScheduler(
            app[ENGINE], deps.clock, lease_s=settings.scheduler_lease_s
        )

        async def sweep() -> None:
            if await polling.schedule_due(deps) and WORKERS in app:
                app[WORKERS].wake()

        scheduler.every("tracking-poll-sweep", settings.poll_tick_s, sweep)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        sender = deps.callback_sender
        if sender is not None and hasattr(sender, "open"):
            await sender.open()
        if SCHEDULER in app:
            await app[SCHEDULER].start()
        yield
        if SCHEDULER in app:
            await app[SCHEDULER].stop()
        if sender is not None and hasattr(sender, "close"):
            await sender.close()

    app.cleanup_ctx.append(lifecycle)
