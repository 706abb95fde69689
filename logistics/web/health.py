"""/healthz: pings the database and each configured dependency; ok or failing per dependency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import text

from ..ports import CarrierUnavailable
from ..storage.outage import RETRY_AFTER_S
from .keys import ENGINE

Check = Callable[[], Awaitable[object]]
HEALTH_CHECKS = web.AppKey("health_checks", dict)


def carrier_check(carrier) -> Check:
    """The carrier is healthy unless its circuit breaker is open. No request is sent: a health probe
    must not spend the carrier's quota."""

    async def check() -> None:
        breaker = getattr(carrier, "breaker", None)
        if breaker is not None and breaker.state == "open":
            raise CarrierUnavailable("circuit open")

    return check


async def _timed(check: Check) -> dict:
    """A check passes unless it raises; one that returns a dict adds it to its entry (its own "ok" too)."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(3):
            details = await check()
    except Exception as e:
        return {"ok": False, "error": type(e).__name__, "ms": round((time.perf_counter() - start) * 1000, 1)}
    report = {"ok": True, "ms": round((time.perf_counter() - start) * 1000, 1)}
    return report | details if isinstance(details, dict) else report


async def healthz(request: web.Request) -> web.Response:
    async def database():
        async with request.app[ENGINE].connect() as conn:
            await conn.execute(text("SELECT 1"))

    checks: dict[str, Check] = {"database": database, **request.app.get(HEALTH_CHECKS, {})}
    names = list(checks)
    results = await asyncio.gather(*(_timed(checks[n]) for n in names))
    report = dict(zip(names, results, strict=True))
    ok = all(r["ok"] for r in results)
    return web.json_response(
        {"status": "ok" if ok else "failing", "checks": report},
        status=200 if ok else 503,
        headers=None if ok else {"Retry-After": str(RETRY_AFTER_S)},
    )
