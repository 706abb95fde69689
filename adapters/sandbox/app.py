"""The EMS simulator as an aiohttp application: mount it at /sandbox or run it alone."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime

import aiohttp
from aiohttp import web

from adapters import REST_PATH, SOAP_PATH
from adapters.ems.credentials import SIMULATOR_SENDER_NO, SIMULATOR_SIGN_KEY
from adapters.ems.mapping import china_now

from . import control, rest, soap
from .business import Carrier
from .core import Sandbox, TokenBucket
from .pusher import RETRY_DELAYS_S, Pusher
from .state import SandboxState

log = logging.getLogger(__name__)

# The simulator's one default (in `certpost serve` and `certpost sandbox`), published in the README: a
# gateway in a real carrier mode refuses both (adapters.ems.credentials).
DEFAULT_SIGN_KEY = SIMULATOR_SIGN_KEY
DEFAULT_SENDER_NO = SIMULATOR_SENDER_NO

SANDBOX = web.AppKey("sandbox", Sandbox)
STATE = web.AppKey("sandbox_state", SandboxState)


class SystemClock:
    def now(self) -> datetime:
        return china_now()


def create_sandbox_app(
    *,
    sign_key: str = DEFAULT_SIGN_KEY,
    sender_no: str = DEFAULT_SENDER_NO,
    rate_limit_per_s: float | None = None,
    clock=None,
    authorization: str | None = None,
    subscribers: Iterable[str] = (),
    unreachable_counties: Iterable[str] = (),
    number_capacity: int = 9_000_000,
    fault_hold_s: float = 120.0,
    push_retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
) -> web.Application:
    """An EMS simulator speaking the open platform at /api/open and SOAP at /soap (WSDL at /soap?wsdl)."""
    clock = clock or SystemClock()
    state = SandboxState(clock.now, number_capacity=number_capacity)
    for url in subscribers:
        state.subscribe(url)
    sandbox = Sandbox(
        sign_key=sign_key,
        sender_no=sender_no,
        carrier=Carrier(state, unreachable_counties),
        limiter=TokenBucket(rate_limit_per_s) if rate_limit_per_s else None,
        authorization=authorization,
        hold_s=fault_hold_s,
    )
    pusher = Pusher(
        state, sign_key=sign_key, sender_no=sender_no, now=clock.now, retry_delays_s=push_retry_delays_s
    )

    async def push_session(app: web.Application) -> AsyncIterator[None]:
        pusher.session = aiohttp.ClientSession()
        yield
        await pusher.close()

    async def release_held_calls(app: web.Application) -> None:
        sandbox.released.set()

    app = web.Application(middlewares=[control.guard_control])
    app[SANDBOX], app[STATE] = sandbox, state
    app.cleanup_ctx.append(push_session)
    app.on_shutdown.append(release_held_calls)
    soap_handler, wsdl_handler = soap.make_handlers(sandbox)
    app.router.add_post(REST_PATH, rest.make_handler(sandbox, clock.now))
    app.router.add_post(SOAP_PATH, soap_handler)
    app.router.add_get(SOAP_PATH, wsdl_handler)
    app.add_routes(control.routes(sandbox, pusher))
    return app


def run_sandbox(host: str = "127.0.0.1", port: int = 8090, **options) -> None:
    """Serve the simulator alone until interrupted (`certpost sandbox --port P`)."""
    log.info("EMS simulator on http://%s:%d (REST %s, SOAP %s)", host, port, REST_PATH, SOAP_PATH)
    web.run_app(create_sandbox_app(**options), host=host, port=port, print=None)


async def start_sandbox(host: str = "127.0.0.1", port: int = 0, **options) -> tuple[web.AppRunner, str]:
    """Start the simulator on a socket inside the running loop; returns the runner and its base URL."""
    runner = web.AppRunner(create_sandbox_app(**options), shutdown_timeout=2)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return runner, f"http://{host}:{bound_port}"


__all__ = ["create_sandbox_app", "run_sandbox", "start_sandbox"]
