"""Who is at the console: the session cookie, roles, CSRF on every POST, flash messages, HTML errors.

Each console handler is wrapped by `page(*roles)`; it receives a `Ctx` and returns a response. Domain
errors become a Chinese message (a flash after a form, JSON after a fetch, an error page after a GET)."""

from __future__ import annotations

import functools
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from adapters.common.bodies import read_form

from ...domain.errors import Conflict, DomainError, Forbidden, InvalidInput, InvalidTransition, NotFound
from ...domain.hall import DEFAULT_HALL
from ...service import sessions
from ...service.sessions import Policy, Session
from .. import limits
from ..auth import set_scope
from ..keys import CLOCK, DEPS, ENGINE, SETTINGS
from .templating import nav_for

log = logging.getLogger("certpost.console")

COOKIE = "certpost_session"
LOGIN_COOKIE = "certpost_login"  # double-submit token of the login form (before there is a session)
FLASH = "certpost_flash"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; frame-src 'self' blob:"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
NO_ROLE = "您的角色无权访问此页面。如需开通，请联系系统管理员。"
BAD_CSRF = "页面已过期或请求来源不可信（CSRF 校验失败），请刷新页面后重试。"
TOO_LARGE = "提交的内容过大，超过了此页面允许的大小，请检查后重试。"
BAD_FORM = "提交的表单格式不正确，请刷新页面后重试。"
STATUS_OF = {InvalidInput: 422, Conflict: 409, InvalidTransition: 409, NotFound: 404, Forbidden: 403}


def policy(request: web.Request) -> Policy:
    s = request.app[SETTINGS]
    return Policy(s.console_session_hours, s.console_max_failures, s.console_lockout_minutes)


def secure_cookie(request: web.Request) -> bool:
    s = request.app[SETTINGS]
    if s.console_cookie_secure is not None:
        return s.console_cookie_secure
    if s.console_trust_proxy and request.headers.get("X-Forwarded-Proto", "").lower() == "https":
        return True
    return request.scheme == "https"


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, **kw) -> None:
    response.set_cookie(
        name, value, path="/console", httponly=True, samesite="Strict", secure=secure_cookie(request), **kw
    )


@dataclass
class Ctx:
    request: web.Request
    session: Session
    flash: tuple[str, str] | None
    form: MultiDictProxy | MultiDict

    @property
    def user(self):
        return self.session.user

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    @property
    def actor(self) -> str:
        return f"staff:{self.user.name}"

    @property
    def engine(self):
        return self.request.app[ENGINE]

    @property
    def hall(self) -> str | None:
        """The user's hall (None: every hall, the province view)."""
        return self.user.hall

    @property
    def halls(self) -> list:
        """Every hall (the default one first)."""
        return self.request.get(HALLS, (None, []))[1]

    @property
    def own_hall(self):
        """The user's hall, or for a user over every hall the default hall (CERTPOST_ORIGIN)."""
        own, listed = self.request.get(HALLS, (None, []))
        return own or next((h for h in listed if h.code == DEFAULT_HALL), self.request.app[SETTINGS].origin)

    @property
    def deps(self):
        """The deps of this user: units of work kept to the user's hall."""
        return self.request.app[DEPS].for_hall(self.user.hall)

    @property
    def now(self):
        return self.request.app[CLOCK].now()

    def render(
        self, template: str, title: str, context: dict | None = None, *, active: str = "", status: int = 200
    ) -> web.Response:
        return render_page(
            self.request,
            template,
            title,
            context,
            user=self.user,
            csrf=self.csrf,
            active=active,
            flash=self.flash,
            status=status,
        )

    def redirect(self, location: str, flash: str | None = None, *, kind: str = "ok") -> web.Response:
        return redirect(self.request, location, flash, kind=kind)


HALLS = web.RequestKey("console_halls", tuple)  # (the user's hall or None, every hall): header, filters
PROVINCE = "全省概览（全部大厅）"


async def _halls_of(request: web.Request, code: str | None) -> tuple:
    async with request.app[DEPS].uow(read_only=True) as uow:
        listed = await uow.halls.list()
    own = next((h for h in listed if h.code == code), None) if code is not None else None
    return own, listed


def hall_title(request: web.Request) -> str:
    """The header's hall: the user's own, the province view for a user over several halls, or (one hall
    configured) the hall's name as before halls."""
    own, listed = request.get(HALLS, (None, []))
    if own is not None:
        return own.name
    if len(listed) > 1:
        return PROVINCE
    return request.app[SETTINGS].origin.name


def render_page(
    request: web.Request,
    template: str,
    title: str,
    context: dict | None = None,
    *,
    user=None,
    csrf: str = "",
    active: str = "",
    flash: tuple[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """`template` (one of templates/, extending base.html) in the console's layout."""
    layout = {
        "title": title,
        "user": user,
        "csrf": csrf,
        "active": active,
        "flash": flash,
        "hall": hall_title(request),
        "nav": nav_for(user.role) if user is not None else [],
    }
    response = aiohttp_jinja2.render_template(template, request, {**(context or {}), **layout}, status=status)
    response.headers.update(SECURITY_HEADERS)
    if flash:
        response.del_cookie(FLASH, path="/console")
    return response


def redirect(
    request: web.Request, location: str, flash: str | None = None, *, kind: str = "ok"
) -> web.Response:
    response = web.Response(status=303, headers={"Location": location, **SECURITY_HEADERS})
    if flash:
        set_cookie(request, response, FLASH, quote(f"{kind}:{flash}"), max_age=60)
    return response


def read_flash(request: web.Request) -> tuple[str, str] | None:
    raw = unquote(request.cookies.get(FLASH, ""))
    kind, _, text = raw.partition(":")
    return (kind, text[:500]) if text and kind in ("ok", "err", "warn") else None


def error_page(
    request: web.Request,
    status: int,
    title: str,
    message: str,
    session: Session | None = None,
    *,
    back: tuple[str, str] = ("/console/", "返回工作台"),
):
    """The console's error page: the status, the message and one way back (`back`: href, text)."""
    user, csrf = (session.user, session.csrf_token) if session else (None, "")
    context = {"status": status, "message": message, "back_href": back[0], "back_text": back[1]}
    return render_page(request, "error.html", title, context, user=user, csrf=csrf, status=status)


def form_refused(request: web.Request, e: web.HTTPException, session: Session | None = None) -> web.Response:
    """A form over its page's limit (413) or one that does not parse (400), in the console's words."""
    title, message = ("提交内容过大", TOO_LARGE) if e.status == 413 else ("提交内容有误", BAD_FORM)
    if wants_json(request):
        return web.json_response({"error": message}, status=e.status)
    return error_page(request, e.status, title, message, session)


def wants_json(request: web.Request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def back(request: web.Request, fallback: str = "/console/") -> str:
    """Where a form came from (same site only), to go back there with a message."""
    ref = urlsplit(request.headers.get("Referer", ""))
    if ref.netloc and ref.netloc != request.host:
        return fallback
    path = ref.path or fallback
    return (path + (f"?{ref.query}" if ref.query else "")) if path.startswith("/console") else fallback


def message_of(e: DomainError) -> str:
    if isinstance(e, InvalidInput):
        return "；".join(m for _, m in e.errors)
    return str(e)


async def current_session(request: web.Request) -> Session | None:
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    return await sessions.resolve(
        request.app[DEPS].uow, token, now=request.app[CLOCK].now(), policy=policy(request)
    )


def page(*roles: str, body_limit: int = limits.CONSOLE_FORM):
    """Sign-in, role (admin may do everything) and CSRF for a console handler `(request, ctx)`.

    A POST's form is read whole, at most `body_limit` bytes (413 past it), before its CSRF check."""

    def wrap(handler):
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            session = await current_session(request)
            if session is None:
                if request.method == "GET":
                    return redirect(request, "/console/login?next=" + quote(request.path_qs, safe=""))
                return error_page(request, 401, "请先登录", "登录已过期，请重新登录后再操作。")
            if session.user.role != "admin" and roles and session.user.role not in roles:
                return error_page(request, 403, "无权访问", NO_ROLE, session)
            form = MultiDict()
            if request.method == "POST":
                if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                    try:
                        form = await read_form(request, body_limit)
                    except (web.HTTPRequestEntityTooLarge, web.HTTPBadRequest) as e:
                        return form_refused(request, e, session)
                presented = request.headers.get("X-CSRF-Token") or form.get("csrf")
                if not sessions.csrf_ok(session, presented if isinstance(presented, str) else None):
                    log.warning("console: CSRF check failed for %s on %s", session.user.name, request.path)
                    return error_page(request, 403, "安全校验失败", BAD_CSRF, session)
            set_scope(request, session.user.hall)
            request[HALLS] = await _halls_of(request, session.user.hall)
            ctx = Ctx(request, session, read_flash(request), form)
            try:
                return await handler(request, ctx)
            except DomainError as e:
                return _domain_error(request, ctx, e)

        return wrapped

    return wrap


def _domain_error(request: web.Request, ctx: Ctx, e: DomainError) -> web.StreamResponse:
    status = next((s for cls, s in STATUS_OF.items() if isinstance(e, cls)), 400)
    if wants_json(request):
        errors = [{"field": f, "message": m} for f, m in e.errors] if isinstance(e, InvalidInput) else []
        return web.json_response({"error": message_of(e), "errors": errors}, status=status)
    if request.method == "POST" and not isinstance(e, NotFound):  # what is not there (or another
        return ctx.redirect(back(request), message_of(e), kind="err")  # hall's) is a 404 page
    return error_page(request, status, "无法完成", message_of(e), ctx.session)


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def local_target(target: str | None, fallback: str = "/console/") -> str:
    """`target` when it is a path of the console on this site, else `fallback`: no scheme or host
    (https://…, //evil.example), no backslash, no control characters (a CR/LF would split the
    Location header), printable ASCII only (our own links are percent-encoded)."""
    if not target or not target.startswith("/console/") or target.startswith("//") or "\\" in target:
        return fallback
    if not all(" " < c < "\x7f" for c in target):
        return fallback
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else fallback
