"""Reading a request body whole, up to the endpoint's limit (CONTRACT "Request bodies").

aiohttp calls a handler as soon as the request's headers are in. `request.content.read(n)` and
`readany()` then return what has arrived so far, which over a network is often part of the body (a
second TCP segment, the next chunk). These helpers read to the body's end, and answer 413 as soon as
the body is known to be over the limit: from Content-Length before reading anything, or when the bytes
read pass the limit (chunked bodies). They never hold more than the limit plus one network read.

Both the gateway (logistics.web) and the EMS simulator (adapters.sandbox) use them."""

from __future__ import annotations

import asyncio

from aiohttp import web
from multidict import MultiDictProxy


def too_large(limit: int, actual: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=actual)


def cut_short() -> web.HTTPBadRequest:
    """The client went away before its body ended: nothing of it is used (and no one hears the 400)."""
    return web.HTTPBadRequest(text="request body ended early")


def refuse_declared_over(request: web.BaseRequest, limit: int) -> None:
    """413 before reading anything when the client announces a body over the limit."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise too_large(limit, declared)


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    """The whole body, however it arrives; 413 once it is over `limit` bytes."""
    refuse_declared_over(request, limit)
    stream = request.content
    declared = request.content_length
    if declared == 0:
        return b""
    if declared is not None:  # the common case: one read of exactly what was announced
        try:
            return await stream.readexactly(declared)
        except (ConnectionError, asyncio.IncompleteReadError):
            raise cut_short() from None
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await stream.readany():  # b"" only at the body's end
            size += len(chunk)
            if size > limit:
                raise too_large(limit, size)
            chunks.append(chunk)
    except ConnectionError:
        raise cut_short() from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_form(request: web.BaseRequest, limit: int) -> MultiDictProxy:
    """A urlencoded or multipart form read whole by aiohttp, the whole request at most `limit` bytes.

    Files of a multipart form are spooled to temporary files (`FileField.file`). A form that does not
    parse (no boundary, a part without a name, text that is not UTF-8) is a 400, not an error."""
    refuse_declared_over(request, limit)
    try:
        return await request.clone(client_max_size=limit).post()
    except ConnectionError:
        raise cut_short() from None
    except ValueError:
        raise web.HTTPBadRequest(text="malformed form body") from None
