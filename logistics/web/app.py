"""The composition root: the one place where real parts are wired together.

Tests pass fakes or the simulator in through `create_app`'s keyword arguments."""

from __future__ import annotations

import logging

from aiohttp import web

from ..clock import SystemClock
from ..config import Settings
from ..jobs.worker import Handler, WorkerPool
from ..ports import Clock
from ..storage.db import create_engine
from ..storage.group_commit import GroupCommitter
from ..storage.migrate import upgrade
from .api import dispatches
from .errors import error_middleware
from .health import HEALTH_CHECKS, healthz
from .keys import CLOCK, COMMITTER, ENGINE, SETTINGS, WORKERS

log = logging.getLogger("certpost")

MAX_UPLOAD = 64 * 1024 * 1024  # statements; intake enforces its own 1 MiB


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    handlers: dict[str, Handler] | None = None,
    run_workers: bool = True,
    migrate: bool = True,
) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_UPLOAD)
    engine = create_engine(settings.database_url)
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[ENGINE] = engine
    app[COMMITTER] = GroupCommitter(engine)
    app[HEALTH_CHECKS] = {}
    job_handlers = dict(handlers or {})
    if run_workers:
        app[WORKERS] = WorkerPool(
            engine, app[CLOCK], job_handlers, concurrency=settings.workers, lease_s=settings.job_lease_s
        )

    async def lifecycle(app: web.Application):
        if migrate:
            await upgrade(engine)
        await app[COMMITTER].start()
        if run_workers:
            await app[WORKERS].start()
        yield
        if run_workers:
            await app[WORKERS].stop()
        await app[COMMITTER].stop()
        await engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/healthz", healthz)
    app.add_routes(dispatches.routes)
    return app
