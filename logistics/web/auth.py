"""Who is calling: a signed machine client (HMAC) or a staff user (Bearer token) with a role."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ..domain import signing
from ..domain.errors import Forbidden
from ..ports.repositories.users import User
from ..service.deps import Deps
from ..storage.users_repo import SqlUsers
from .errors import Unauthorized
from .keys import CLOCK, DEPS, ENGINE, SETTINGS

ALL_STAFF = ("dispatcher", "finance", "admin")
_SCOPE = web.RequestKey("hall_scope", object)  # (the caller's hall,), set once the caller is known


def set_scope(request: web.Request, hall: str | None) -> None:
    """The caller's hall (None: every hall): what `scoped` deps keep to for this request."""
    request[_SCOPE] = (hall,)


def scope_of(request: web.Request) -> str | None:
    if _SCOPE not in request:
        raise RuntimeError("the caller's hall is asked for before the caller is known")
    return request[_SCOPE][0]


def scoped(request: web.Request) -> Deps:
    """The deps of this request's caller: units of work kept to the caller's hall (a staff user's, a
    bound machine client's; every hall for an admin without one). Only after `staff` or `signed_client`."""
    return request.app[DEPS].for_hall(scope_of(request))


def signed_client(request: web.Request, body: bytes) -> str:
    """The client id of a correctly signed request, else Unauthorized (and nothing happens)."""
    settings = request.app[SETTINGS]
    client_id = request.headers.get("X-Client-Id", "")
    secret = settings.clients.get(client_id)
    if not secret:
        raise Unauthorized("unknown or missing X-Client-Id")
    reason = signing.verify(
        secret,
        request.headers.get("X-Timestamp", ""),
        body,
        request.headers.get("X-Signature", ""),
        now_s=request.app[CLOCK].now().timestamp(),
        window_s=settings.signature_window_s,
    )
    if reason:
        raise Unauthorized(reason)
    set_scope(request, settings.client_hall(client_id))
    return client_id


async def staff(request: web.Request, *roles: str) -> User:
    """The staff user behind the Bearer token, if its role is allowed (admin always is)."""
    return await staff_of(request.app[ENGINE], request, *roles)


def admins_only(engine: AsyncEngine):
    """A guard for routes outside the gateway's own app (the mounted simulator's control API)."""

    async def guard(request: web.Request) -> None:
        await staff_of(engine, request)

    return guard


async def staff_of(engine: AsyncEngine, request: web.Request, *roles: str) -> User:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized("Authorization: Bearer <token> required")
    async with engine.connect() as conn:
        user = await SqlUsers(conn).by_token(header.removeprefix("Bearer ").strip())
    if user is None:
        raise Unauthorized("unknown token")
    if user.role != "admin" and user.role not in roles:
        raise Forbidden(f"role {user.role} may not do this")
    set_scope(request, user.hall)
    return user
