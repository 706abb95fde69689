"""Sign-in, sign-out and the dashboard everyone lands on."""

from __future__ import annotations

import hmac

from aiohttp import web

from adapters.common.bodies import read_form

from ... import reconcile_engine
from ...domain.hall import DEFAULT_HALL, Hall
from ...service import dashboard, sessions, village_points
from ...service import province as province_view
from ...service.console_text import CHINA, STATUS_SHORT
from ...service.sessions import LoginRefused
from .. import limits
from ..auth import scoped
from ..keys import CLOCK, DEPS, SETTINGS
from . import charts
from . import statistics as statistics_page
from .guard import (
    COOKIE,
    LOGIN_COOKIE,
    Ctx,
    current_session,
    error_page,
    form_refused,
    local_target,
    new_login_token,
    page,
    policy,
    redirect,
    render_page,
    set_cookie,
)

routes = web.RouteTableDef()


def _login_form(token: str, *, name: str = "", next_: str = "", error: str = "") -> dict:
    return {"token": token, "name": name, "next": next_, "error": error}


@routes.get("/console/login")
async def login_page(request: web.Request) -> web.Response:
    if await current_session(request) is not None:
        return redirect(request, "/console/")
    token = new_login_token()
    next_ = local_target(request.query.get("next"), "")
    response = render_page(request, "login.html", "登录", _login_form(token, next_=next_))
    set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
    return response


@routes.post("/console/login")
async def login(request: web.Request) -> web.Response:
    try:
        form = await read_form(request, limits.CONSOLE_LOGIN)  # small: anyone may post here
    except (web.HTTPRequestEntityTooLarge, web.HTTPBadRequest) as e:
        return form_refused(request, e)
    expected, presented = request.cookies.get(LOGIN_COOKIE, ""), str(form.get("csrf", ""))
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        message = "登录页面已过期或请求来源不可信（CSRF 校验失败）。"
        return error_page(request, 403, "安全校验失败", message, back=("/console/login", "重新打开登录页"))
    name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:256]
    try:
        session = await sessions.login(
            request.app[DEPS].uow, name, password, now=request.app[CLOCK].now(), policy=policy(request)
        )
    except LoginRefused as e:
        status = 429 if e.locked_until else 401
        token = new_login_token()
        context = _login_form(token, name=name, next_=local_target(form.get("next"), ""), error=str(e))
        response = render_page(request, "login.html", "登录", context, status=status)
        set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
        return response
    response = redirect(request, local_target(form.get("next")))
    set_cookie(request, response, COOKIE, session.token)
    response.del_cookie(LOGIN_COOKIE, path="/console")
    return response


@routes.post("/console/logout")
@page()
async def logout(request: web.Request, ctx: Ctx) -> web.Response:
    await sessions.logout(request.app[DEPS].uow(), ctx.session, now=ctx.now)
    response = redirect(request, "/console/login", "您已安全退出", kind="ok")
    response.del_cookie(COOKIE, path="/console")
    return response


@routes.get("/console")
async def console_root(request: web.Request) -> web.Response:
    return redirect(request, "/console/")


# ---- dashboard ----------------------------------------------------------------------------------


def tariff_estimate(origin: Hall):
    """The contracted tariff's fee for this month's parcels, when no statement was reconciled yet."""
    tariff = reconcile_engine.tariff_of(None)

    def estimate(parcels) -> int:
        total = 0
        for weight_g, declared_fen, province, city, county, day in parcels:
            version = tariff.version_on(day)
            if version is not None:
                total += version.fee_fen(
                    version.zone_for(origin, province, city, county), weight_g, declared_fen
                )
        return total

    return estimate


@routes.get("/console/")
@page()
async def home(request: web.Request, ctx: Ctx) -> web.Response:
    settings = request.app[SETTINGS]
    board = await dashboard.build(
        scoped(request).uow(read_only=True),
        now=ctx.now,
        ontime_days=settings.ontime_days,
        estimate=tariff_estimate(ctx.own_hall),  # zones judged from the user's hall
    )
    context = _board(board, ctx.user.role)
    context["breaches"] = await statistics_page.dashboard_breaches(ctx.deps, settings, ctx.now)
    context["villages"] = await _villages(request, ctx)
    return ctx.render("home.html", "工作台", context, active="home")


async def _villages(request: web.Request, ctx: Ctx) -> list[dict]:
    """The village card: each point with parcels on their way or waiting there (the desk's roles)."""
    if ctx.user.role not in ("dispatcher", "admin"):
        return []
    found = await village_points.figures(scoped(request).uow(read_only=True), ctx.hall)
    return [
        {"name": f.name, "code": f.code, "hall": f.point.hall if f.point else ctx.hall or DEFAULT_HALL,
         "to": f.count(village_points.TO_POINT), "at": f.count(village_points.AT_POINT)}
        for f in found
        if f.open
    ][:12]  # fmt: skip


def _board(b: dashboard.Dashboard, role: str) -> dict:
    source = {"reconciliation": "按本月对账单", "tariff": "按合同资费估算"}.get(b.cost_source, "")
    return {
        "b": b,
        "desk": role in ("dispatcher", "admin"),  # the queue's figures link to the desk's pages
        "day": f"{b.today:%Y-%m-%d}",
        "month": f"{b.today:%Y年%m月}",
        "median": f"{b.median_days:.1f} 天" if b.median_days is not None else "—",
        "ontime_days": f"{b.ontime_days:g}",
        "cost_source": source,
        "ontime": charts.ring(b.ontime_rate),
        "daily": charts.columns(b.daily),
        "by_town": charts.bars(b.by_town[:19]),
    }


# ---- the province view (全省概览) ------------------------------------------------------------------

PROVINCE_STATUSES = ("received", "booked", "label_printed", "handed_over", "in_transit", "delivered")


@routes.get("/console/province")
@page()
async def province_page(request: web.Request, ctx: Ctx) -> web.Response:
    """The halls side by side; a user of one hall sees only that hall's row."""
    settings = request.app[SETTINGS]
    figures = await province_view.compare(
        scoped(request).uow(read_only=True), now=ctx.now, ontime_days=settings.ontime_days
    )
    headers = ["大厅", "编码", "寄递单合计", *(STATUS_SHORT.get(s, s) for s in PROVINCE_STATUSES), "本月下单",
               "需处理异常", "本月送达", "本月准时率"]  # fmt: skip
    rows = [
        [
            f.hall.name, f.hall.code, f.total, *(f.by_status.get(s, 0) for s in PROVINCE_STATUSES),
            f.booked_month, f.exceptions, f.delivered_month,
            f"{f.ontime_rate:.0%}" if f.ontime_rate is not None else "—",
        ]
        for f in figures
    ]  # fmt: skip
    context = {
        "headers": headers,
        "rows": rows,
        "month": f"{ctx.now.astimezone(CHINA):%Y年%m月}",
        "ontime_days": f"{settings.ontime_days:g}",
    }
    return ctx.render("province.html", "全省概览", context, active="province")
