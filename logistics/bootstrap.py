"""The composition root: the one place where certpost's parts are built and wired together.

    bootstrap.gateway(settings, self_url=url)      # `certpost serve`, the demo: the carrier from settings
    bootstrap.app(settings, carrier=simulator)     # a gateway around the parts a test chose
    bootstrap.system(settings, ...)                # those parts, without the web app (web_app serves them)
    async with bootstrap.standalone(settings) as deps:  # a CLI command: migrated database, disposed after
    bootstrap.deps(settings, engine=engine)        # use-case tests and benchmarks: nothing to start

Every part has a real default and can be overridden by keyword (a fake clock, the simulator as carrier,
a recording notifier, a stub callback sender or pull source, extra job handlers). The parts with a
lifecycle are started and stopped by `System` (logistics/system.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from .clock import SystemClock
from .config import Settings
from .ports import CarrierGateway, Clock, Notifier
from .service.deps import Deps
from .storage.db import create_engine
from .storage.migrate import upgrade
from .storage.sqlite import use_fast_paths
from .storage.unit_of_work import unit_of_work_factory

if TYPE_CHECKING:
    from aiohttp import web

    from .jobs.worker import Handler
    from .service.callbacks import CallbackSender
    from .service.pull import BuildIntake, PageSource
    from .system import System


def deps(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock | None = None,
    carrier: CarrierGateway | None = None,
    notifier: Notifier | None = None,
    callback_sender: CallbackSender | None = None,
    known_codes: frozenset[str] | None = None,
) -> Deps:
    """What the use cases are given: the database (as units of work), the clock, the settings and the
    outside parts passed in. Nothing here needs starting; `system` adds the running parts."""
    engine = engine if engine is not None else create_engine(settings.database_url)
    use_fast_paths(engine, settings.sqlite_fast_writes)  # SQLite's one switch (storage/sqlite)
    return Deps(
        unit_of_work_factory(engine, default_hall=settings.origin), clock or SystemClock(),
        settings, carrier=carrier, notifier=notifier,
        callback_sender=callback_sender, known_codes=known_codes,
    )  # fmt: skip


@asynccontextmanager
async def standalone(settings: Settings) -> AsyncIterator[Deps]:
    """For a command run once (CLI, the demo's setup): the deps on an up-to-date database, its
    connections closed afterwards."""
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        yield deps(settings, engine=engine)
    finally:
        await engine.dispose()


def known_scan_codes() -> frozenset[str]:
    """The carrier's mapped scan codes (both EMS protocols share them); others count as unknown."""
    from adapters.ems.codes import OPCODE_STATUS

    return frozenset(OPCODE_STATUS)


def system(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock | None = None,
    carrier: CarrierGateway | None = None,
    notifier: Notifier | None = None,
    callback_sender: CallbackSender | None = None,
    pull_source: PageSource | None = None,
    handlers: dict[str, Handler] | None = None,
    run_workers: bool = True,
    run_scheduler: bool | None = None,
    migrate: bool = True,
) -> System:
    """The gateway's parts. `carrier` books mail (None: dispatches wait in the queue); `handlers` replace
    job handlers by kind; the scheduler runs with the workers unless `run_scheduler` says otherwise."""
    from .jobs.worker import WorkerPool
    from .service import booking
    from .service.citizen_throttle import Caps, CitizenThrottle
    from .service.intake import plan_intake, record_intake_batch
    from .storage.group_commit import GroupCommitter, write_grouped
    from .storage.sqlite import fast_intake
    from .storage.unit_of_work import SqlWrites
    from .system import System

    if callback_sender is None and settings.callback_url:
        from adapters.approval import HttpCallbackSender

        callback_sender = HttpCallbackSender(settings.callback_timeout_s)
    engine = engine if engine is not None else create_engine(settings.database_url)
    made = deps(
        settings, engine=engine, clock=clock, carrier=carrier, notifier=notifier,
        callback_sender=callback_sender, known_codes=known_scan_codes(),
    )  # fmt: skip
    # ---- the write path: signed intake's group commit, and the job handlers' small writes
    uow = made.uow
    fast = fast_intake(engine, settings.database_url, plan_intake, enabled=settings.sqlite_fast_writes)
    intake = GroupCommitter(uow, record_intake_batch, fast=fast)
    # job outcomes, bookings and poll results are kept while the database is away (written when back)
    committer = GroupCommitter(uow, write_grouped, max_batch=200, keep_while_away=KEPT_WRITES)
    made.writes = SqlWrites(committer)
    # ---- end write path
    built = System(
        made, engine, intake, committer, CitizenThrottle(made, Caps.from_settings(settings)), migrate=migrate
    )
    if run_workers:
        built.instance = instance = _instance(built, carrier)
        pacer = instance.pacer
        job_handlers = {**booking.job_handlers(made), **tracking_handlers(made), **(handlers or {})}
        batch_handlers = {k: h for k, h in booking.batch_handlers(made).items() if k not in (handlers or {})}
        built.workers = WorkerPool(
            engine, made.clock, job_handlers, concurrency=settings.workers, lease_s=settings.job_lease_s,
            writes=made.writes, batch_size=settings.booking_batch,
            batch_in_flight=booking_in_flight(settings), batch_handlers=batch_handlers,
            name=instance.id, stop_grace_s=settings.stop_grace_s,
            before_stop=pacer.drain if pacer is not None else None, batch_room=_batch_room(settings, pacer),
        )  # fmt: skip
    scheduled = settings.scheduler and run_workers if run_scheduler is None else run_scheduler
    _schedule_tracking(built, scheduled)
    _schedule_pull(built, scheduled, pull_source)
    return built


KEPT_WRITES = 20_000
"""Job outcomes and other small writes kept in memory while the database is away, at most."""


def _batch_room(settings: Settings, pacer):
    """With a configured carrier rate shared among instances, the bookings this instance keeps open follow
    its current share: a quarter lease's worth of it (at least one batch), so none outwaits its lease."""
    if pacer is None or not settings.carrier_rate_per_s:
        return None
    ceiling = booking_in_flight(settings)

    def room() -> int:
        share = pacer.rate_per_s or settings.carrier_rate_per_s
        return min(ceiling, max(settings.booking_batch, int(share * settings.job_lease_s / 4)))

    return room


def _instance(built: System, carrier: CarrierGateway | None):
    """This instance among the deployment's; it shares out the guarded carrier's rate, if there is one."""
    from .jobs.instances import InstanceRegistry
    from .service.resilience import Pacer

    settings = built.deps.settings
    pacer = getattr(carrier, "pacer", None) if carrier is not None else None
    return InstanceRegistry(
        built.engine, built.deps.clock, heartbeat_s=settings.instance_heartbeat_s,
        dead_after_s=settings.instance_dead_after_s, pacer=pacer if isinstance(pacer, Pacer) else None,
        carrier=getattr(carrier, "name", "carrier"),
    )  # fmt: skip


def tracking_handlers(made: Deps) -> dict:
    from .service import callbacks, notifications, pickup_delivery, polling

    return {
        **polling.job_handlers(made), **callbacks.job_handlers(made), **notifications.job_handlers(made),
        **pickup_delivery.job_handlers(made),
    }  # fmt: skip


def booking_in_flight(settings: Settings) -> int:
    """Bookings one batch worker keeps open: waiting for a slow carrier's rate must not outlast the lease."""
    in_flight = settings.booking_in_flight
    if settings.carrier_rate_per_s:
        in_flight = min(
            in_flight,
            max(settings.booking_batch, int(settings.carrier_rate_per_s * settings.job_lease_s / 4)),
        )
    return in_flight


def _scheduler(built: System):
    from .jobs.scheduler import LeasedScheduler

    if built.scheduler is None:
        lease_s = built.deps.settings.scheduler_lease_s
        holder = built.instance.id if built.instance is not None else None
        built.scheduler = LeasedScheduler(built.engine, built.deps.clock, lease_s=lease_s, holder=holder)
    return built.scheduler


def _schedule_tracking(built: System, scheduled: bool) -> None:
    """Polling: due parcels are queued on the leased scheduler's tick (issue 5)."""
    from .service import polling

    made = built.deps
    if not scheduled or made.carrier is None:
        return

    async def sweep() -> None:
        if await polling.schedule_due(made):
            built.wake_workers()

    _scheduler(built).every("tracking-poll-sweep", made.settings.poll_tick_s, sweep)


def _schedule_pull(built: System, scheduled: bool, source: PageSource | None) -> None:
    """Pull intake (issue 16): the poller on the leased scheduler, with its HTTP page source."""
    from .service import pull

    made = built.deps
    settings = made.settings
    if not settings.pull_url:
        return
    pull.check_settings(settings)  # raises PullMisconfigured: `certpost serve` refuses to start
    if not scheduled:
        return
    if source is None:
        from adapters.approval import HttpPageSource

        source = HttpPageSource(settings.pull_timeout_s, settings.pull_max_page_bytes)
    scheduler = _scheduler(built)
    built.pull_source = source
    built.puller = pull.Puller(
        made, source, pull_builder(settings), wake=built.wake_workers, leading=lambda: scheduler.leading
    )
    scheduler.every("pull-intake", settings.pull_interval_s, built.puller.tick)


def pull_builder(settings: Settings) -> BuildIntake:
    """The push intake's own validation and dispatch builder, for an item of a page."""
    from .web.api.dispatches import SignedIntake, intake_request

    build = intake_request(settings)

    def from_item(body: bytes, client_id: str, now: datetime):
        return build(SignedIntake(body, client_id, now))

    return from_item


# ---- the web app --------------------------------------------------------------------------------------


def web_app(built: System, *, sandbox: web.Application | None = None) -> web.Application:
    """The aiohttp gateway serving `built` (started and stopped with the app); `sandbox`, when given, is
    the EMS simulator mounted at /sandbox in the same server."""
    from .web.app import create_app

    return create_app(built, sandbox=sandbox)


def app(settings: Settings, **parts) -> web.Application:
    """`web_app(system(settings, **parts))`: a gateway around the parts a test chose."""
    return web_app(system(settings, **parts))


@dataclass(frozen=True)
class CarrierFromSettings:
    carrier: CarrierGateway
    settings: Settings
    """With the simulator's keys in sandbox mode, and `public_url` defaulting to the server's own URL."""
    sandbox: web.Application | None = None
    notifier: Notifier | None = None


def carrier_from_settings(settings: Settings, *, self_url: str) -> CarrierFromSettings:
    """The carrier `CERTPOST_CARRIER` names, guarded (pace, concurrency, breaker). With `sandbox` (the
    default) the EMS simulator runs in the same server at /sandbox and is called over HTTP like a real
    carrier. A real carrier's credentials are checked first (CarrierCredentialsError)."""
    from adapters import build_carrier

    from .service.resilience import GuardedCarrier

    sandbox = None
    if settings.carrier == "sandbox":
        from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY, create_sandbox_app

        from .web.api.tracking import PUSH_PATH

        # issue 5: the simulator pushes scans to our own receiver; SMS are recorded, listed at
        # /sandbox/_control/sms; pushes are verified with the simulator's keys.
        sandbox = create_sandbox_app(
            rate_limit_per_s=settings.sandbox_rate_per_s, subscribers=[f"{self_url}{PUSH_PATH}"]
        )
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
    return CarrierFromSettings(guarded, settings, sandbox, notifier_from_settings(settings, sandbox))


def notifier_from_settings(settings: Settings, sandbox: web.Application | None = None) -> Notifier | None:
    """The SMS gateway `CERTPOST_SMS` names: `simulator` records messages, listed at the EMS simulator's
    /_control/sms (with no simulator mounted, nowhere to list them: none); `none`: pickup codes go on
    slips; `aliyun`: Alibaba Cloud SMS."""
    if settings.sms == "aliyun":
        from adapters.sms.aliyun import AliyunSmsNotifier, AliyunSmsSettings

        return AliyunSmsNotifier(
            AliyunSmsSettings(
                endpoint=settings.aliyun_sms_endpoint,
                access_key_id=settings.aliyun_sms_access_key_id,
                access_key_secret=settings.aliyun_sms_access_key_secret,
                sign_name=settings.aliyun_sms_sign_name,
                templates=dict(settings.aliyun_sms_templates),
                region=settings.aliyun_sms_region,
                timeout_s=settings.sms_timeout_s,
                throttle_retry_s=settings.aliyun_sms_throttle_retry_s,
            )
        )
    if settings.sms == "simulator" and sandbox is not None:
        from adapters.sms import RecordingNotifier, sms_log_handler

        notifier = RecordingNotifier()
        sandbox.router.add_get("/_control/sms", sms_log_handler(notifier))
        return notifier
    return None


def gateway(settings: Settings, *, self_url: str) -> web.Application:
    """`certpost serve`: the gateway with its carrier built from the settings."""
    chosen = carrier_from_settings(settings, self_url=self_url)
    built = system(chosen.settings, carrier=chosen.carrier, notifier=chosen.notifier)
    return web_app(built, sandbox=chosen.sandbox)
