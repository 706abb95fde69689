"""Sign-in, sign-out and the dashboard everyone lands on."""

from __future__ import annotations

import hmac

from aiohttp import web

from adapters.common.bodies import read_form

from ... import reconcile_engine
from ...service import dashboard, sessions
from ...service.console_text import yuan
from ...service.sessions import LoginRefused
from ...storage.db import reading
from .. import limits
from ..keys import CLOCK, ENGINE, SETTINGS
from .guard import (
    COOKIE,
    LOGIN_COOKIE,
    Ctx,
    current_session,
    form_refused,
    local_target,
    new_login_token,
    page,
    policy,
    redirect,
    render_page,
    set_cookie,
)
from .html import Html, card, column_chart, h, hbar_chart, ring, stat

routes = web.RouteTableDef()


def _login_form(token: str, *, name: str = "", next_: str = "", error: str = "") -> Html:
    err = (
        Html(f'<div class="flash flash-err" role="alert" id="login-error">{h(error)}</div>') if error else ""
    )
    return Html(f"""<div class="login"><form method="post" action="/console/login" class="card login-card">
<h2>工作人员登录</h2>{err}
<input type="hidden" name="csrf" value="{h(token)}"><input type="hidden" name="next" value="{h(next_)}">
<label for="name">用户名</label><input id="name" name="name" required maxlength="64" value="{h(name)}"
 autocomplete="username" autofocus>
<label for="password">密码</label><input id="password" name="password"
 type="password" required maxlength="256"
 autocomplete="current-password">
<button class="btn primary wide" type="submit" id="login">登录</button>
<p class="hint">连续输错 5 次密码，账号将锁定 15 分钟。忘记密码请联系系统管理员重置。</p>
</form></div>""")


@routes.get("/console/login")
async def login_page(request: web.Request) -> web.Response:
    if await current_session(request) is not None:
        return redirect(request, "/console/")
    token = new_login_token()
    next_ = local_target(request.query.get("next"), "")
    response = render_page(request, "登录", _login_form(token, next_=next_))
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
        body = Html(
            '<div class="errorbox"><div class="code">403</div><p>登录页面已过期或请求来源不可信'
            '（CSRF 校验失败）。</p><p><a class="btn" href="/console/login">重新打开登录页</a></p></div>'
        )
        return render_page(request, "安全校验失败", body, status=403)
    name, password = str(form.get("name", ""))[:64], str(form.get("password", ""))[:256]
    try:
        session = await sessions.login(
            request.app[ENGINE], name, password, now=request.app[CLOCK].now(), policy=policy(request)
        )
    except LoginRefused as e:
        status = 429 if e.locked_until else 401
        token = new_login_token()
        body = _login_form(token, name=name, next_=local_target(form.get("next"), ""), error=str(e))
        response = render_page(request, "登录", body, status=status)
        set_cookie(request, response, LOGIN_COOKIE, token, max_age=3600)
        return response
    response = redirect(request, local_target(form.get("next")))
    set_cookie(request, response, COOKIE, session.token)
    response.del_cookie(LOGIN_COOKIE, path="/console")
    return response


@routes.post("/console/logout")
@page()
async def logout(request: web.Request, ctx: Ctx) -> web.Response:
    await sessions.logout(ctx.engine, ctx.session, now=ctx.now)
    response = redirect(request, "/console/login", "您已安全退出", kind="ok")
    response.del_cookie(COOKIE, path="/console")
    return response


@routes.get("/console")
async def console_root(request: web.Request) -> web.Response:
    return redirect(request, "/console/")


# ---- dashboard ----------------------------------------------------------------------------------


def tariff_estimate(origin_fields: dict):
    """The contracted tariff's fee for this month's parcels, when no statement was reconciled yet."""
    from reconciliation.tariff import Origin

    tariff, origin = reconcile_engine.tariff_of(None), Origin.coerce(origin_fields)

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
    async with reading(ctx.engine) as conn:
        board = await dashboard.build(
            conn,
            now=ctx.now,
            ontime_days=settings.ontime_days,
            estimate=tariff_estimate(settings.origin.model_dump()),
        )
    return ctx.render("工作台", _board(board, ctx.user.role), active="home")


def _board(b: dashboard.Dashboard, role: str) -> Html:
    s, m = b.by_status, b.moves_today
    desk = role in ("dispatcher", "admin")
    link = (lambda href: href) if desk else (lambda href: "")
    today = Html(
        '<div class="stats">'
        + stat("今日受理", b.received_today)
        + stat("今日下单", m.get("booked", 0))
        + stat("今日打印面单", m.get("label_printed", 0))
        + stat("今日交寄", m.get("handed_over", 0))
        + stat("今日签收", m.get("delivered", 0) + m.get("picked_up", 0))
        + "</div>"
    )
    queue = Html(
        '<div class="stats">'
        + stat("待下单", s.get("received", 0), href=link("/console/dispatches?tab=to_book"), tone="wait")
        + stat("待打印面单", s.get("booked", 0), href=link("/console/dispatches?tab=to_print"), tone="todo")
        + stat("待交接揽收", s.get("label_printed", 0), href=link("/console/handover"), tone="todo")
        + stat("需处理异常", b.attention, href=link("/console/exceptions"), tone="bad" if b.attention else "")
        + stat("窗口待自取", s.get("awaiting_pickup", 0), href=link("/console/pickup"), tone="todo")
        + "</div>"
    )
    median = f"{b.median_days:.1f} 天" if b.median_days is not None else "—"
    source = {"reconciliation": "按本月对账单", "tariff": "按合同资费估算"}.get(b.cost_source, "")
    kpis = Html(
        '<div class="kpis">'
        + stat("本月寄出", f"{b.mailed_month} 件", hint=f"{b.today:%Y年%m月} 交寄邮政")
        + stat("本月送达", f"{b.delivered_month} 件")
        + stat("办结到送达（中位数）", median)
        + Html(
            f'<div class="stat ringbox">{ring(b.ontime_rate, label="准时率")}<div>'
            f'<div class="stat-label">准时率</div><div class="stat-hint">办结后 {b.ontime_days:g} 天内送达'
            "</div></div></div>"
        )
        + stat("本月寄递费用", yuan(b.cost_fen), hint=source)
        + "</div>"
    )
    charts = Html(
        '<div class="grid2">'
        + card("近 30 天每日交寄", column_chart(b.daily))
        + card("本月寄出（按乡镇）", hbar_chart(b.by_town[:19]))
        + "</div>"
    )
    return Html(
        card("今日工作", today, extra=f"{b.today:%Y-%m-%d}")
        + card("待办", queue)
        + card("本月概况", kpis)
        + charts
    )
