"""The village point clerk's phone-sized page (代办点经办人): opened with the access link staff issued
for the point (no staff account), it lists the parcels waiting at the point (citizens' names and phones
masked) and hands one over when the citizen's one-time pickup code is entered.

The link's secret is kept in an HttpOnly, SameSite=Strict cookie scoped to /clerk; every request checks
it again, so a link staff revoked stops working at once. Forms carry a token derived from the secret
(CSRF). No script; the one inline style is allowed by its hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path
from urllib.parse import parse_qsl

import jinja2
from aiohttp import web
from markupsafe import Markup

from adapters.common.bodies import read_body

from ...domain.errors import Conflict, InvalidInput, NotFound
from ...domain.masking import mask_name, mask_phone
from ...service import village_clerk
from ...service.console_text import cn_time
from .. import limits
from ..keys import CLOCK, DEPS, SETTINGS

COOKIE = "certpost_clerk"
CSS = (
    "body{margin:0;font:16px/1.5 system-ui,'PingFang SC','Microsoft YaHei',sans-serif;background:#f4f6f8;"
    "color:#1d2733}header{background:#1f5f8b;color:#fff;padding:12px 16px}h1{font-size:20px;margin:0}"
    ".sub{margin:2px 0 0;opacity:.9}main{padding:12px;max-width:560px;margin:0 auto}h2{font-size:17px}"
    ".card{background:#fff;border-radius:8px;padding:12px;margin:0 0 12px;box-shadow:0 1px 2px #0002}"
    ".card p{margin:0 0 4px}.meta{color:#5b6673;font-size:14px}label{display:block;margin:8px 0 4px}"
    "input{box-sizing:border-box;width:100%;font-size:22px;padding:8px;letter-spacing:4px;"
    "border:1px solid #9aa5b1;border-radius:6px}button{margin-top:8px;width:100%;font-size:18px;"
    "padding:10px;border:0;border-radius:6px;background:#1f5f8b;color:#fff}button.plain{background:#8a96a3}"
    ".msg{padding:10px;border-radius:6px}.ok{background:#e3f4e6}.warn{background:#fdecea}"
    ".empty{color:#5b6673}"
)
CSP = (
    "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
    + "'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
TITLE = "代办点取件"

routes = web.RouteTableDef()


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _csrf(token: str) -> str:
    return hmac.new(token.encode(), b"certpost-clerk-form", hashlib.sha256).hexdigest()[:32]


def _page(status: int = 200, **context) -> web.Response:
    context = {"title": TITLE, "css": Markup(CSS), "point": None, "message": "", "kind": "ok", **context}
    if context["point"] is not None:
        context["title"] = f"{context['point'].name} · 代办点取件"
    return web.Response(
        text=_ENV.get_template("page.html").render(**context),
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": CSP,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )


def _refused(e: village_clerk.AccessRefused | village_clerk.Locked) -> web.Response:
    """A refused link (403) logs the phone out; a link locked for a while (429) stays on it: staff show
    the link once, and the clerk carries on when the lock ends."""
    if isinstance(e, village_clerk.Locked):
        return _page(429, message=str(e), kind="warn")
    response = _page(403, message=str(e), kind="warn")
    response.del_cookie(COOKIE, path="/clerk")
    return response


def _bad_form() -> web.Response:
    return _page(400, message="提交的内容无法识别，请刷新页面后重试", kind="warn")


async def _clerk(request: web.Request, token: str) -> village_clerk.Clerk:
    return await village_clerk.enter(request.app[DEPS].uow, token, now=request.app[CLOCK].now())


async def _listing(request: web.Request, clerk, token: str, status=200, **context) -> web.Response:
    parcels = await village_clerk.waiting(request.app[DEPS].uow, clerk)
    shown = [
        {
            "id": d.id,
            "name": mask_name(d.recipient.name),
            "phone": mask_phone(d.recipient.phone),
            "matter": d.matter_name,
            "waybill": d.waybill_no or "—",
            "since": cn_time(d.updated_at) if d.updated_at else "",
        }
        for d in parcels
    ]
    return _page(status, point=clerk.point, parcels=shown, csrf=_csrf(token), **context)


def _with_cookie(request: web.Request, response: web.StreamResponse, token: str) -> web.StreamResponse:
    secure = request.secure or request.app[SETTINGS].public_url.startswith("https://")
    response.set_cookie(
        COOKIE, token, path="/clerk", httponly=True, samesite="Strict", secure=secure, max_age=180 * 86400
    )
    return response


async def _form(request: web.Request) -> dict[str, str] | None:
    """The posted form's fields; None when it is not one of this page's forms (more fields than any)."""
    raw = await read_body(request, limits.CONSOLE_LOGIN)
    try:
        return dict(parse_qsl(raw.decode("utf-8", "replace"), max_num_fields=10))
    except ValueError:  # over max_num_fields
        return None


@routes.get("/clerk/enter")
async def enter_by_link(request: web.Request) -> web.StreamResponse:
    return await _enter(request, request.query.get("token", ""))


@routes.post("/clerk/enter")
async def enter_by_code(request: web.Request) -> web.StreamResponse:
    form = await _form(request)
    if form is None:
        return _bad_form()
    return await _enter(request, form.get("token", "").strip())


async def _enter(request: web.Request, token: str) -> web.StreamResponse:
    """The clerk's access checked and audited, then kept in a cookie: on to the point's page."""
    try:
        clerk = await _clerk(request, token)
    except (village_clerk.AccessRefused, village_clerk.Locked) as e:
        return _refused(e)
    await village_clerk.opened(request.app[DEPS].uow, clerk, now=request.app[CLOCK].now())
    return _with_cookie(request, _see_other("/clerk"), token)


@routes.get("/clerk")
async def clerk_page(request: web.Request) -> web.Response:
    token = request.cookies.get(COOKIE, "")
    if not token:
        return _page()
    try:
        clerk = await _clerk(request, token)
    except (village_clerk.AccessRefused, village_clerk.Locked) as e:
        return _refused(e)
    done = request.query.get("done", "")
    message = "已交付，领取已登记" if done == "1" else ""
    return await _listing(request, clerk, token, message=message)


@routes.post("/clerk/release")
async def release(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(COOKIE, "")
    form = await _form(request)
    if form is None:
        return _bad_form()
    try:
        clerk = await _clerk(request, token)
    except (village_clerk.AccessRefused, village_clerk.Locked) as e:
        return _refused(e)
    if not hmac.compare_digest(form.get("csrf", ""), _csrf(token)):
        return await _listing(request, clerk, token, 403, message="页面已过期，请刷新后重试", kind="warn")
    try:
        await village_clerk.hand_over(
            request.app[DEPS].uow, clerk, form.get("id", "")[:64], form.get("code", "")[:16],
            now=request.app[CLOCK].now(), max_attempts=request.app[SETTINGS].pickup_code_attempts,
        )  # fmt: skip
    except InvalidInput as e:
        text = "；".join(m for _, m in e.errors)
        return await _listing(request, clerk, token, 422, message=text, kind="warn")
    except NotFound:
        return await _listing(request, clerk, token, 404, message="该证照不在本代办点", kind="warn")
    except Conflict as e:
        return await _listing(request, clerk, token, 409, message=str(e), kind="warn")
    return _see_other("/clerk?done=1")


@routes.post("/clerk/leave")
async def leave(request: web.Request) -> web.StreamResponse:
    response = _see_other("/clerk")
    response.del_cookie(COOKIE, path="/clerk")
    return response
