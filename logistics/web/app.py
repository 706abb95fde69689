"""The composition root: the one place where real parts are wired together.

Tests pass fakes or the simulator in through `create_app`'s keyword arguments."""

from __future__ import annotations

import logging

from aiohttp import web

from ..clock import SystemClock
from ..config import Settings
from ..jobs.worker import Handler, WorkerPool
from ..ports import CarrierGateway, Clock, Notifier
from ..service import booking, pool
from ..service.deps import Deps
from ..service.intake import plan_intake, record_intake_batch
from ..storage.db import create_engine
from ..storage.group_commit import GroupCommitter, write_grouped
from ..storage.migrate import upgrade
from ..storage.sqlite import fast_intake
from ..storage.unit_of_work import SqlWrites, unit_of_work_factory
from . import console, limits, tracking_setup  # issue 5: tracking, callbacks, citizen page; issue 7: console
from .api import dispatches, finance, labels
from .auth import admins_only
from .errors import error_middleware
from .headers import no_sniff
from .health import HEALTH_CHECKS, carrier_check, healthz
from .keys import CLOCK, COMMITTER, DEPS, ENGINE, SETTINGS, WORKERS
from .pull_setup import install as install_pull  # issue 16

log = logging.getLogger("certpost")


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    carrier: CarrierGateway | None = None,
    notifier: Notifier | None = None,
    sandbox: web.Application | None = None,
    handlers: dict[str, Handler] | None = None,
    run_workers: bool = True,
    migrate: bool = True,
    callback_sender=None,
    run_scheduler: bool | None = None,
    pull_source=None,
) -> web.Application:
    """The gateway. `carrier` books mail (None: dispatches wait in the queue); `sandbox`, when given, is
    the EMS simulator mounted at /sandbox in the same server."""
    app = web.Application(middlewares=[error_middleware], client_max_size=limits.LARGEST)
    app.on_response_prepare.append(no_sniff)  # issue 12: JSON (and everything else) is never sniffed
    engine = create_engine(settings.database_url)
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[ENGINE] = engine
    uow = unit_of_work_factory(engine)
    fast = fast_intake(engine, settings.database_url, plan_intake, enabled=settings.sqlite_fast_writes)
    app[COMMITTER] = GroupCommitter(uow, record_intake_batch, fast=fast)
    app[HEALTH_CHECKS] = {"carrier": carrier_check(carrier)} if carrier is not None else {}
    # ---- issue 5: tracking
    if callback_sender is None and settings.callback_url:
        from adapters.approval import HttpCallbackSender

        callback_sender = HttpCallbackSender(settings.callback_timeout_s)
    from adapters.ems.codes import OPCODE_STATUS

    deps = Deps(
        engine, app[CLOCK], settings, carrier=carrier, notifier=notifier,
        callback_sender=callback_sender, known_codes=frozenset(OPCODE_STATUS),
    )  # fmt: skip
    # ---- end issue 5
    committer = GroupCommitter(uow, write_grouped, max_batch=200)
    deps.writes, deps.uow = SqlWrites(committer), uow
    app[DEPS] = deps
    job_handlers = {**booking.job_handlers(deps), **tracking_setup.job_handlers(deps), **(handlers or {})}
    batch_handlers = {k: h for k, h in booking.batch_handlers(deps).items() if k not in (handlers or {})}
    in_flight = settings.booking_in_flight  # waiting for a slow carrier's rate must not outlast the lease
    if settings.carrier_rate_per_s:
        in_flight = min(
            in_flight,
            max(settings.booking_batch, int(settings.carrier_rate_per_s * settings.job_lease_s / 4)),
        )
    if run_workers:
        app[WORKERS] = WorkerPool(
            engine, app[CLOCK], job_handlers, concurrency=settings.workers, lease_s=settings.job_lease_s,
            writes=deps.writes, batch_size=settings.booking_batch, batch_in_flight=in_flight,
            batch_handlers=batch_handlers,
        )  # fmt: skip

    async def lifecycle(app: web.Application):
        if migrate:
            await upgrade(engine)
        await app[COMMITTER].start()
        await committer.start()
        if run_workers:
            await app[WORKERS].start()
            if carrier is not None:
                await pool.request_refill(deps)
        yield
        if run_workers:
            await app[WORKERS].stop()
        await committer.stop()
        await app[COMMITTER].stop()
        await engine.dispose()
        if carrier is not None:
            await carrier.close()

    app.cleanup_ctx.append(lifecycle)
    scheduler_on = settings.scheduler and run_workers if run_scheduler is None else run_scheduler
    tracking_setup.install(app, deps, run_scheduler=scheduler_on)  # issue 5
    install_pull(app, deps, run_scheduler=scheduler_on, source=pull_source)  # issue 16: pull intake
    app.router.add_get("/healthz", healthz)
    app.add_routes(dispatches.routes)
    app.add_routes(labels.routes)
    app.add_routes(finance.routes)  # reconciliation runs, closing a month
    console.install(app)  # issue 7: the back-office console at /console/
    from . import openapi  # issue 16: /openapi.json and /api/docs, built from the router when first asked

    openapi.install(app)
    if sandbox is not None:  # its control API is the admins' alone here (CONTRACT)
        from adapters.sandbox import CONTROL_GUARD

        app[CONTROL_GUARD] = admins_only(engine)
        app.add_subapp("/sandbox", sandbox)
    return app


def create_gateway(settings: Settings, *, self_url: str) -> web.Application:
    """The gateway with its carrier built from settings; with `CERTPOST_CARRIER=sandbox` (the default)
    the EMS simulator runs in the same server at /sandbox and is called over HTTP like a real carrier."""
    from adapters import build_carrier

    from ..service.resilience import GuardedCarrier

    sandbox, notifier = None, None
    if settings.carrier == "sandbox":
        from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY, create_sandbox_app
        from adapters.sms import RecordingNotifier, sms_log_handler

        from .api.tracking import PUSH_PATH

        # issue 5: the simulator pushes scans to our own receiver; SMS are recorded, listed at
        # /sandbox/_control/sms; pushes are verified with the simulator's keys.
        sandbox = create_sandbox_app(
            rate_limit_per_s=settings.sandbox_rate_per_s, subscribers=[f"{self_url}{PUSH_PATH}"]
        )
        notifier = RecordingNotifier()
        sandbox.router.add_get("/_control/sms", sms_log_handler(notifier))
        settings = settings.model_copy(
            update={"carrier_sign_key": DEFAULT_SIGN_KEY, "carrier_sender_no": DEFAULT_SENDER_NO}
        )
        kind, base_url, sender_no, sign_key = (
            settings.sandbox_protocol, f"{self_url}/sandbox", DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY,
        )  # fmt: skip
    else:
        from adapters.ems.credentials import check_real_carrier

        check_real_carrier(
            settings.carrier,
            url=settings.carrier_url,
            sender_no=settings.carrier_sender_no,
            sign_key=settings.carrier_sign_key,
        )  # raises CarrierCredentialsError: `certpost serve` refuses to start
        kind, base_url = settings.carrier, settings.carrier_url
        sender_no, sign_key = settings.carrier_sender_no, settings.carrier_sign_key
    carrier = build_carrier(
        kind, base_url=base_url, sender_no=sender_no, sign_key=sign_key, timeout_s=settings.carrier_timeout_s
    )
    guarded = GuardedCarrier(
        carrier, concurrency=settings.carrier_concurrency, rate_per_s=settings.carrier_rate_per_s
    )
    if not settings.public_url:
        settings = settings.model_copy(update={"public_url": self_url})
    return create_app(settings, carrier=guarded, sandbox=sandbox, notifier=notifier)
