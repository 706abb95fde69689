"""A request body that must be one JSON object, read whole within the endpoint's limit."""

from __future__ import annotations

import json

from aiohttp import web

from adapters.common.bodies import read_body

from ...domain.errors import InvalidInput


async def json_object(request: web.Request, limit: int, *, empty: dict | None = None) -> dict:
    """The body as a dict; `empty` stands for an empty body where the endpoint allows one."""
    raw = await read_body(request, limit)
    if not raw and empty is not None:
        return dict(empty)
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidInput([("body", "请求体不是有效的 JSON (body is not valid JSON)")]) from None
    if not isinstance(body, dict):
        raise InvalidInput([("body", "请求体必须是 JSON 对象 (body must be a JSON object)")])
    return body
