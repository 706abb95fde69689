"""Wiring for pull intake (issue 16), called by the composition root: the poller on the leased scheduler,
its HTTP session, and its entry in /healthz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from aiohttp import web

from ..jobs.scheduler import LeasedScheduler
from ..service import pull
from ..service.deps import Deps
from .api.dispatches import SignedIntake, intake_request
from .health import HEALTH_CHECKS
from .keys import WORKERS
from .tracking_setup import SCHEDULER

PULLER = web.AppKey("puller", pull.Puller)


def pull_builder(settings) -> pull.BuildIntake:
    """The push intake's own validation and dispatch builder, for an item of a page."""
    build = intake_request(settings)

    def from_item(body: bytes, client_id: str, now: datetime):
        return build(SignedIntake(body, client_id, now))

    return from_item


def install(app: web.Application, deps: Deps, *, run_scheduler: bool, source=None) -> None:
    settings = deps.settings
    if not settings.pull_url:
        return
    pull.check_settings(settings)
    app[HEALTH_CHECKS]["pull"] = lambda: pull.status(deps)
    if not run_scheduler:
        return
    if source is None:
        from adapters.approval import HttpPageSource

        source = HttpPageSource(settings.pull_timeout_s, settings.pull_max_page_bytes)
    if SCHEDULER not in app:  # tracking_setup's lifecycle starts and stops it
        app[SCHEDULER] = LeasedScheduler(deps.engine, deps.clock, lease_s=settings.scheduler_lease_s)
    scheduler = app[SCHEDULER]

    def wake() -> None:
        if WORKERS in app:
            app[WORKERS].wake()

    app[PULLER] = puller = pull.Puller(
        deps, source, pull_builder(settings), wake=wake, leading=lambda: scheduler.leading
    )
    scheduler.every("pull-intake", settings.pull_interval_s, puller.tick)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await source.open()
        yield
        await source.close()

    app.cleanup_ctx.insert(0, lifecycle)  # open before the scheduler starts, closed after it stops
