"""The aiohttp app around a built `System` (logistics.bootstrap wires the parts): application keys,
middlewares, routes, and the system's start and stop with the app's."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ..service import pull
from ..storage.tracking import SqlCitizenLookup
from ..system import System
from . import api_docs, citizen, clerk, console, limits, openapi
from .api import cases, dispatches, finance, labels, pickup, statistics, tracking, village
from .auth import admins_only
from .client_address import networks
from .errors import error_middleware
from .headers import no_sniff
from .health import HEALTH_CHECKS, carrier_check, healthz
from .keys import CLOCK, COMMITTER, DEPS, ENGINE, SETTINGS, WORKERS


def create_app(system: System, *, sandbox: web.Application | None = None) -> web.Application:
    """The gateway serving `system`; `sandbox`, when given, is the EMS simulator mounted at /sandbox."""
    deps = system.deps
    settings = deps.settings
    app = web.Application(middlewares=[error_middleware], client_max_size=limits.LARGEST)
    app.on_response_prepare.append(no_sniff)  # issue 12: JSON (and everything else) is never sniffed
    app[SETTINGS], app[CLOCK], app[ENGINE], app[DEPS] = settings, deps.clock, system.engine, deps
    app[COMMITTER] = system.intake
    if system.workers is not None:
        app[WORKERS] = system.workers
    app[HEALTH_CHECKS] = {"carrier": carrier_check(deps.carrier)} if deps.carrier is not None else {}
    if settings.pull_url:
        app[HEALTH_CHECKS]["pull"] = lambda: pull.status(deps)

    async def running(app: web.Application) -> AsyncIterator[None]:
        await system.start()
        yield
        await system.stop()

    app.cleanup_ctx.append(running)
    app[tracking.CITIZEN_THROTTLE] = system.citizen_throttle  # issue 5: tracking, the citizen page
    app[tracking.CITIZEN_LOOKUP] = SqlCitizenLookup(system.engine)
    app[tracking.TRUSTED_PROXIES] = networks(settings.trusted_proxies)
    app.add_routes(tracking.routes)
    app.add_routes(citizen.routes)
    app.router.add_get("/healthz", healthz)
    app.add_routes(dispatches.routes)
    app.add_routes(cases.routes)  # case progress (issue 15)
    app.add_routes(labels.routes)
    pickup.install(app)  # issue 15: pickup codes by SMS or on a slip, SMS receipts
    app.add_routes(finance.routes)  # reconciliation runs, closing a month
    app.add_routes(statistics.routes)  # statistics and supervision (issue 17)
    app.add_routes(village.routes)  # village proxy points (issue 15)
    app.add_routes(clerk.routes)  # the village point clerk's phone page
    console.install(app)  # issue 7: the back-office console at /console/
    openapi.install(app)  # issue 16: /openapi.json, built from the router when first asked
    app.add_routes(api_docs.routes)  # /api/docs renders it
    if sandbox is not None:  # its control API is the admins' alone here (CONTRACT)
        from adapters.sandbox import CONTROL_GUARD

        app[CONTROL_GUARD] = admins_only(system.engine)
        app.add_subapp("/sandbox", sandbox)
    return app
