"""The contract's simulator control API under /_control/ (never part of a real carrier).

Alone (`certpost sandbox`) the API is open, a test double's remote control. An application that mounts the
simulator puts a guard under CONTROL_GUARD in itself: every /_control/ request then passes it first (the
gateway lets only admins in: the API marks parcels delivered and its SMS log holds pickup codes)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.common.bodies import read_body
from adapters.ems.open import mapping as m

from .core import MAX_REQUEST_BYTES, Sandbox
from .pusher import Pusher
from .rest import scan_item
from .state import SimError, StateConflict


async def _json(request: web.Request) -> dict:
    try:
        body = json.loads(await read_body(request, MAX_REQUEST_BYTES))
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


ControlGuard = Callable[[web.Request], Awaitable[object]]
"""Raises (or answers with an HTTP error) unless the request may use the control API."""
CONTROL_GUARD = web.AppKey("sandbox_control_guard", ControlGuard)
CONTROL_PREFIX = "/_control/"


@web.middleware
async def guard_control(request: web.Request, handler):
    """Run the mounting application's guard, if any, before every /_control/ route."""
    guard = request.config_dict.get(CONTROL_GUARD)
    if guard is not None:
        resource = request.match_info.route.resource  # None: no route here, the handler answers 404
        if resource is not None and CONTROL_PREFIX in resource.canonical:
            await guard(request)
    return await handler(request)


def _parcel_view(order, scans) -> dict:
    return {
        **order.summary(),
        "printed": order.printed,
        "scans": [{"op_code": s.op_code, "op_name": s.op_name, "time": s.time.isoformat()} for s in scans],
    }


def routes(sandbox: Sandbox, pusher: Pusher) -> list[web.RouteDef]:
    state = sandbox.state

    async def advance(request: web.Request) -> web.Response:
        to = str((await _json(request)).get("to", ""))
        try:
            order, new = state.advance(request.match_info["waybill_no"], to)
        except SimError:
            raise web.HTTPNotFound(text="unknown waybill number") from None
        except StateConflict as exc:
            raise web.HTTPConflict(text=str(exc)) from None
        pusher.push(order, new, scan_item)
        return web.json_response({**_parcel_view(order, order.scans), "emitted": [s.op_code for s in new]})

    async def parcel(request: web.Request) -> web.Response:
        try:
            order, scans = state.trace(request.match_info["waybill_no"])
        except SimError:
            raise web.HTTPNotFound(text="unknown waybill number") from None
        return web.json_response(_parcel_view(order, scans))

    async def faults(request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            state.add_fault(
                str(body.get("operation", "*")), str(body.get("mode", "")), int(body.get("count", 1))
            )
        except (StateConflict, ValueError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return web.json_response({"ok": True}, status=201)

    async def clear_faults(request: web.Request) -> web.Response:
        return web.json_response({"cleared": state.clear_faults()})

    async def orders(request: web.Request) -> web.Response:
        return web.json_response({"orders": state.orders()})

    async def limiter(request: web.Request) -> web.Response:
        bucket = sandbox.limiter
        if bucket is None:
            return web.json_response({"rate_per_s": None, "accepted": None, "refused": None})
        return web.json_response(
            {"rate_per_s": bucket.rate, "accepted": bucket.accepted, "refused": bucket.refused}
        )

    async def subscribe(request: web.Request) -> web.Response:
        url = str((await _json(request)).get("url", ""))
        if not url.startswith(("http://", "https://")):
            raise web.HTTPBadRequest(text="url must be http(s)")
        state.subscribe(url)
        return web.json_response({"subscribers": state.subscribers}, status=201)

    async def subscribers(request: web.Request) -> web.Response:
        return web.json_response({"subscribers": state.subscribers, "method": m.TRACE_PUSH})

    async def pushes(request: web.Request) -> web.Response:
        return web.json_response({"pushes": list(state.push_log)})

    return [
        web.post("/_control/parcels/{waybill_no}/advance", advance),
        web.get("/_control/parcels/{waybill_no}", parcel),
        web.post("/_control/faults", faults),
        web.delete("/_control/faults", clear_faults),
        web.get("/_control/orders", orders),
        web.get("/_control/limiter", limiter),
        web.post("/_control/subscribers", subscribe),
        web.get("/_control/subscribers", subscribers),
        web.get("/_control/pushes", pushes),
    ]
