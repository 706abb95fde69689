"""One middleware maps every error to a JSON answer. Bad input is never a 500; a 500 has no traceback."""

from __future__ import annotations

import logging

from aiohttp import web

from ..domain.errors import Conflict, DomainError, Forbidden, InvalidInput, InvalidTransition, NotFound
from ..storage.outage import RETRY_AFTER_S, database_unavailable

log = logging.getLogger("certpost.web")


class Unauthorized(DomainError):
    pass


_STATUS = {
    InvalidInput: 422,
    Conflict: 409,
    InvalidTransition: 409,
    NotFound: 404,
    Forbidden: 403,
    Unauthorized: 401,
}


def error_response(status: int, message: str, **extra) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        if "\x00" in request.path:  # names nothing (and PostgreSQL text cannot hold a NUL)
            raise NotFound("not found")
        return await handler(request)
    except InvalidInput as e:
        errors = [{"field": f, "message": m} for f, m in e.errors]
        return web.json_response({"error": "invalid input", "errors": errors}, status=422)
    except DomainError as e:
        status = next((s for cls, s in _STATUS.items() if isinstance(e, cls)), 400)
        return error_response(status, str(e))
    except web.HTTPException as e:
        if e.content_type == "application/json" or e.status < 400:
            raise
        return _http_json(e)
    except Exception as e:
        if database_unavailable(e):
            return unavailable(request, e)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error")


def unavailable(request: web.Request, e: BaseException) -> web.Response:
    """The database is away: 503 and when to try again (nothing was half-written: a transaction that
    did not commit wrote nothing)."""
    log.warning("database unavailable on %s %s: %s", request.method, request.path, type(e).__name__)
    response = error_response(503, "service unavailable, retry later")
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _http_json(e: web.HTTPException) -> web.Response:
    response = web.json_response({"error": e.reason}, status=e.status)
    for key in ("Retry-After", "Allow", "WWW-Authenticate"):
        if key in e.headers:
            response.headers[key] = e.headers[key]
    return response
