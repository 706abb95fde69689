"""Administration at the console: users and roles, carrier and number-pool status, dead-lettered jobs."""

from __future__ import annotations

from aiohttp import web

from ...domain.errors import Conflict, NotFound
from ...jobs import queue
from ...service import users
from ...service.console_text import cn_time
from ...service.users import ROLE_TEXT, ROLES
from ...storage import console_repo, pool_repo
from ...storage.db import reading
from ...storage.tracking import SqlTrackingRecords
from ..keys import DEPS, SETTINGS, WORKERS
from .guard import Ctx, page, render_page
from .html import Html, button_form, card, csrf_field, dl, h, stat, table
from .pull_status import pull_cards

routes = web.RouteTableDef()
ADMIN = ("admin",)
ACTION_TEXT = {
    "login": "登录",
    "logout": "退出",
    "login.failed": "登录失败",
    "login.locked": "账号锁定",
    "login.refused_locked": "锁定期间尝试登录",
    "user.created": "创建用户",
    "user.password": "重置密码",
    "user.role": "变更角色",
    "user.token": "签发新令牌",
    "user.revoked": "吊销账号",
}


def _role_select(name: str, current: str = "dispatcher", ident: str = "") -> Html:
    options = "".join(
        f'<option value="{r}"{" selected" if r == current else ""}>{h(ROLE_TEXT[r])}</option>' for r in ROLES
    )
    return Html(
        f'<select name="{h(name)}"{f" id={ident!r}" if ident else ""} aria-label="角色">{options}</select>'
    )


@routes.get("/console/admin/users")
@page(*ADMIN)
async def users_page(request: web.Request, ctx: Ctx) -> web.Response:
    listed = await users.list_users(ctx.engine)
    async with reading(ctx.engine) as conn:
        log = await console_repo.audit_log(conn, limit=50)
    rows = []
    for u in listed:
        role = Html(
            f'<form method="post" action="/console/admin/users/{u["id"]}/role" class="inline">'
            f"{csrf_field(ctx.csrf)}{_role_select('role', u['role'])}"
            '<button class="btn small" type="submit">改角色</button></form>'
        )
        pw = Html(
            f'<form method="post" action="/console/admin/users/{u["id"]}/password" class="inline">'
            f'{csrf_field(ctx.csrf)}<input type="password" name="password" minlength="8" required '
            'placeholder="新密码（至少8位）" autocomplete="new-password"'
            f' aria-label="{h(u["name"])} 的新密码">'
            '<button class="btn small" type="submit" data-confirm="重置密码会使该用户退出所有登录，'
            '旧 API 令牌随即失效并签发新令牌。确定重置？">重置密码</button></form>'
        )
        account = Html(
            button_form(
                f"/console/admin/users/{u['id']}/token", "签发新令牌", ctx.csrf, kind="small",
                confirm=f"为 {u['name']} 签发新的 API 令牌？旧令牌将立即失效。",
            )
            + button_form(
                f"/console/admin/users/{u['id']}/revoke", "吊销", ctx.csrf, kind="small danger",
                confirm=f"吊销 {u['name']}：API 令牌立即失效、所有登录会话退出、登录密码清除。确定？",
            )
        )  # fmt: skip
        rows.append(
            [
                u["name"],
                ROLE_TEXT.get(u["role"], u["role"]),
                "已设置" if u["has_password"] else "未设置",
                "有效" if u["has_token"] else "已吊销",
                cn_time(u["created_at"]),
                role,
                pw,
                account,
            ]
        )
    create = Html(
        f'<form method="post" action="/console/admin/users" class="formgrid">{csrf_field(ctx.csrf)}'
        '<label for="new-name">用户名</label><input id="new-name" name="name" required maxlength="64">'
        f'<label for="new-role">角色</label>{_role_select("role", ident="new-role")}'
        '<label for="new-password">初始密码</label><input id="new-password" name="password" type="password" '
        'minlength="8" required autocomplete="new-password">'
        '<span></span><div><button class="btn primary" type="submit">创建用户</button></div></form>'
    )
    audit_rows = [
        [
            cn_time(r.at, seconds=True),
            r.actor,
            ACTION_TEXT.get(r.action, r.action),
            r.subject,
            "；".join(f"{k}：{v}" for k, v in r.detail.items()) or "—",
        ]
        for r in log
    ]
    body = (
        card(
            "用户与角色",
            table(
                ["用户名", "角色", "登录密码", "API 令牌", "创建时间", "角色变更", "密码", "账号"],
                rows,
                cls="list",
            ),
        )
        + card("新建用户", create)
        + card(
            "登录与账号操作记录（最近 50 条）", table(["时间", "操作人", "动作", "对象", "详情"], audit_rows)
        )
    )
    return ctx.render("用户与角色", body, active="users")


@routes.post("/console/admin/users")
@page(*ADMIN)
async def create_user(request: web.Request, ctx: Ctx) -> web.Response:
    name = str(ctx.form.get("name", ""))
    await users.create(
        ctx.engine,
        name,
        str(ctx.form.get("role", "")),
        password=str(ctx.form.get("password", "")),
        actor=ctx.user.name,
        now=ctx.now,
    )
    return ctx.redirect("/console/admin/users", f"已创建用户 {name.strip()}")


def _user_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise NotFound("没有这个用户") from None


def _token_shown_once(ctx: Ctx, title: str, done: users.Reissued, note: str) -> web.Response:
    """The new API token, on this one page only (not stored, not in a redirect or a cookie)."""
    body = card(
        title,
        Html(
            f'<p><label for="new-token">{h(done.name)} 的新 API 令牌：</label>'
            f'<input id="new-token" class="token" readonly value="{h(done.token)}"></p>'
            "<p>此令牌只显示这一次，请立即复制并交给使用者保存；离开本页后无法再次查看。</p>"
            '<p><a class="btn" href="/console/admin/users">返回用户与角色</a></p>'
        ),
    )
    return render_page(
        ctx.request, title, body, user=ctx.user, csrf=ctx.csrf, active="users", flash=("ok", note)
    )


@routes.post("/console/admin/users/{id}/password")
@page(*ADMIN)
async def reset_password(request: web.Request, ctx: Ctx) -> web.Response:
    done = await users.set_password(
        ctx.engine, _user_id(request), str(ctx.form.get("password", "")), actor=ctx.user.name, now=ctx.now
    )
    note = f"已重置 {done.name} 的密码：其登录会话已全部退出，锁定已解除，旧 API 令牌已失效。"
    return _token_shown_once(ctx, "密码已重置", done, note)


@routes.post("/console/admin/users/{id}/token")
@page(*ADMIN)
async def new_token(request: web.Request, ctx: Ctx) -> web.Response:
    done = await users.issue_token(ctx.engine, _user_id(request), actor=ctx.user.name, now=ctx.now)
    return _token_shown_once(ctx, "已签发新令牌", done, f"{done.name} 的旧 API 令牌已失效。")


@routes.post("/console/admin/users/{id}/revoke")
@page(*ADMIN)
async def revoke(request: web.Request, ctx: Ctx) -> web.Response:
    user_id = _user_id(request)
    if user_id == ctx.user.id:
        raise Conflict("不能吊销自己的账号；请由另一位管理员操作，或在服务器上使用 certpost users revoke")
    name = await users.revoke(ctx.engine, user_id, actor=ctx.user.name, now=ctx.now)
    return ctx.redirect(
        "/console/admin/users",
        f"已吊销 {name}：API 令牌已失效，登录会话已全部退出，登录密码已清除。恢复使用请重置密码或签发新令牌",
    )


@routes.post("/console/admin/users/{id}/role")
@page(*ADMIN)
async def change_role(request: web.Request, ctx: Ctx) -> web.Response:
    role = str(ctx.form.get("role", ""))
    name = await users.set_role(ctx.engine, _user_id(request), role, actor=ctx.user.name, now=ctx.now)
    return ctx.redirect("/console/admin/users", f"{name} 的角色已改为 {ROLE_TEXT.get(role, role)}")


# ---- system -------------------------------------------------------------------------------------

JOB_STATE_TEXT = {"pending": "排队中", "running": "执行中", "done": "已完成", "dead": "失败待处理"}


@routes.get("/console/admin/system")
@page(*ADMIN)
async def system(request: web.Request, ctx: Ctx) -> web.Response:
    deps, settings = request.app[DEPS], request.app[SETTINGS]
    async with reading(ctx.engine) as conn:
        pool = await pool_repo.counts(conn)
        jobs = await queue.counts(conn)
        dead = await queue.list_jobs(conn, queue.DEAD, limit=100)
        active = await SqlTrackingRecords(conn).active_count()
        pulled = await pull_cards(conn, settings)  # issue 16: pull intake
    carrier = deps.carrier
    breaker = getattr(carrier, "breaker", None)
    state = (
        "未配置承运商"
        if carrier is None
        else (
            "正常（断路器闭合）"
            if breaker is None or breaker.state == "closed"
            else f"暂停调用（断路器打开，连续失败 {breaker.failures} 次）"
        )
    )
    facts = dl(
        [
            ("承运商接口", f"{getattr(carrier, 'name', '—')}（{settings.carrier}）"),
            ("连接状态", state),
            ("号段池 可用", pool.get("free", 0)),
            ("号段池 已使用", pool.get("assigned", 0)),
            ("号段池 补充阈值", settings.pool_low_watermark),
            ("跟踪中的邮件", active),
            ("后台工作线程", "运行中" if WORKERS in request.app else "未启动"),
        ]
    )
    stats = Html(
        '<div class="stats">'
        + "".join(
            stat(JOB_STATE_TEXT.get(k, k), jobs.get(k, 0), tone="bad" if k == "dead" and jobs.get(k) else "")
            for k in ("pending", "running", "done", "dead")
        )
        + "</div>"
    )
    rows = [
        [
            j["id"],
            j["kind"],
            j["attempts"],
            cn_time(j["updated_at"]),
            (j["last_error"] or "")[:200],
            Html(
                f'<form method="post" action="/console/admin/jobs/{j["id"]}/retry" class="inline">'
                f'{csrf_field(ctx.csrf)}<button class="btn small primary" type="submit">重试</button></form>'
            ),
        ]
        for j in dead
    ]
    body = (
        card("承运商与号段池", facts)
        + card("后台任务", stats)
        + pulled
        + card(
            "失败待处理的任务（死信）",
            table(
                ["编号", "类型", "尝试次数", "最后尝试", "错误", ""], rows, empty="没有失败的任务", cls="list"
            ),
        )
    )
    return ctx.render("系统状态", body, active="system")


@routes.post("/console/admin/jobs/{id}/retry")
@page(*ADMIN)
async def retry_job(request: web.Request, ctx: Ctx) -> web.Response:
    try:
        job_id = int(request.match_info["id"])
    except ValueError:
        raise NotFound("没有这个失败任务") from None
    async with ctx.engine.begin() as conn:
        if not await queue.retry_dead(conn, job_id, now=ctx.now):
            raise NotFound("没有这个失败任务（可能已被重试）")
        await console_repo.audit(
            conn, at=ctx.now, actor=ctx.user.name, action="job.retry", subject=str(job_id)
        )
    if WORKERS in request.app:
        request.app[WORKERS].wake()
    return ctx.redirect("/console/admin/system", f"任务 {job_id} 已重新排队")
