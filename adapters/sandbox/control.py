"""The contract's simulator control API under /_control/ (never part of a real carrier)."""

from __future__ import annotations

import json

from aiohttp import web

from adapters.common.bodies import read_body
from adapters.ems_open import mapping as m

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

    async def orders(request: web.Request) -> web.Response:
        return web.json_response({"orders": state.orders()})

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
        web.get("/_control/orders", orders),
        web.post("/_control/subscribers", subscribe),
        web.get("/_control/subscribers", subscribers),
        web.get("/_control/pushes", pushes),
    ]
