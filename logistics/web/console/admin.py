"""Administration at the console: users and roles, carrier and number-pool status, dead-lettered jobs."""

from __future__ import annotations

from aiohttp import web

from ...domain.errors import Conflict, NotFound
from ...ports.repositories.jobs import DEAD
from ...service import users
from ...service.console_text import cn_time
from ...service.users import ROLE_TEXT, ROLES
from ..auth import scoped
from ..keys import SETTINGS, WORKERS
from .guard import Ctx, page, render_page
from .pull_status import pull_view

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
    "village_point.created": "登记代办点",
    "village_point.changed": "修改代办点",
    "village_point.imported": "导入代办点清单",
    "village_access.issued": "生成代办点访问链接",
    "village_access.revoked": "收回代办点访问链接",
    "village_access.opened": "代办点经办人打开取件页面",
}


@routes.get("/console/admin/users")
@page(*ADMIN)
async def users_page(request: web.Request, ctx: Ctx) -> web.Response:
    listed = await users.list_users(scoped(request).uow(read_only=True))
    async with scoped(request).uow(read_only=True) as uow:
        log = await uow.console.audit_log(limit=50)
    rows = [
        {
            "user": u,
            "cells": [
                u["name"],
                ROLE_TEXT.get(u["role"], u["role"]),
                "已设置" if u["has_password"] else "未设置",
                "有效" if u["has_token"] else "已吊销",
                cn_time(u["created_at"]),
            ],
        }
        for u in listed
    ]
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
    roles = [(r, ROLE_TEXT[r]) for r in ROLES]
    # an admin over every hall may put a new user in one hall (or leave it over every hall)
    halls = [(h.code, h.name) for h in ctx.halls] if ctx.hall is None and len(ctx.halls) > 1 else []
    context = {"rows": rows, "audit_rows": audit_rows, "roles": roles, "hall_choices": halls}
    return ctx.render("users.html", "用户与角色", context, active="users")


@routes.post("/console/admin/users")
@page(*ADMIN)
async def create_user(request: web.Request, ctx: Ctx) -> web.Response:
    name = str(ctx.form.get("name", ""))
    await users.create(
        scoped(request).uow(),
        name,
        str(ctx.form.get("role", "")),
        password=str(ctx.form.get("password", "")),
        actor=ctx.user.name,
        now=ctx.now,
        hall=str(ctx.form.get("hall", "")).strip() or None,  # a hall's admin creates its own hall's
    )
    return ctx.redirect("/console/admin/users", f"已创建用户 {name.strip()}")


def _user_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise NotFound("没有这个用户") from None


def _token_shown_once(ctx: Ctx, title: str, done: users.Reissued, note: str) -> web.Response:
    """The new API token, on this one page only (not stored, not in a redirect or a cookie)."""
    return render_page(
        ctx.request,
        "token.html",
        title,
        {"done": done},
        user=ctx.user,
        csrf=ctx.csrf,
        active="users",
        flash=("ok", note),
    )


@routes.post("/console/admin/users/{id}/password")
@page(*ADMIN)
async def reset_password(request: web.Request, ctx: Ctx) -> web.Response:
    done = await users.set_password(
        scoped(request).uow,
        _user_id(request),
        str(ctx.form.get("password", "")),
        actor=ctx.user.name,
        now=ctx.now,
    )
    note = f"已重置 {done.name} 的密码：其登录会话已全部退出，锁定已解除，旧 API 令牌已失效。"
    return _token_shown_once(ctx, "密码已重置", done, note)


@routes.post("/console/admin/users/{id}/token")
@page(*ADMIN)
async def new_token(request: web.Request, ctx: Ctx) -> web.Response:
    done = await users.issue_token(scoped(request).uow(), _user_id(request), actor=ctx.user.name, now=ctx.now)
    return _token_shown_once(ctx, "已签发新令牌", done, f"{done.name} 的旧 API 令牌已失效。")


@routes.post("/console/admin/users/{id}/revoke")
@page(*ADMIN)
async def revoke(request: web.Request, ctx: Ctx) -> web.Response:
    user_id = _user_id(request)
    if user_id == ctx.user.id:
        raise Conflict("不能吊销自己的账号；请由另一位管理员操作，或在服务器上使用 certpost users revoke")
    name = await users.revoke(scoped(request).uow(), user_id, actor=ctx.user.name, now=ctx.now)
    return ctx.redirect(
        "/console/admin/users",
        f"已吊销 {name}：API 令牌已失效，登录会话已全部退出，登录密码已清除。恢复使用请重置密码或签发新令牌",
    )


@routes.post("/console/admin/users/{id}/role")
@page(*ADMIN)
async def change_role(request: web.Request, ctx: Ctx) -> web.Response:
    role = str(ctx.form.get("role", ""))
    name = await users.set_role(
        scoped(request).uow(), _user_id(request), role, actor=ctx.user.name, now=ctx.now
    )
    return ctx.redirect("/console/admin/users", f"{name} 的角色已改为 {ROLE_TEXT.get(role, role)}")


# ---- system -------------------------------------------------------------------------------------

JOB_STATE_TEXT = {"pending": "排队中", "running": "执行中", "done": "已完成", "dead": "失败待处理"}


@routes.get("/console/admin/system")
@page(*ADMIN)
async def system(request: web.Request, ctx: Ctx) -> web.Response:
    deps, settings = scoped(request), request.app[SETTINGS]
    async with deps.uow(read_only=True) as uow:
        pool = await uow.pool.counts()
        jobs = await uow.jobs.counts()
        dead = await uow.jobs.list_jobs(DEAD, limit=100)
        active = await uow.tracking.active_count()
        pulled = await pull_view(uow, settings)  # issue 16: pull intake
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
    facts = [
        ("承运商接口", f"{getattr(carrier, 'name', '—')}（{settings.carrier}）"),
        ("连接状态", state),
        ("号段池 可用", pool.get("free", 0)),
        ("号段池 已使用", pool.get("assigned", 0)),
        ("号段池 补充阈值", settings.pool_low_watermark),
        ("跟踪中的邮件", active),
        ("后台工作线程", "运行中" if WORKERS in request.app else "未启动"),
    ]
    job_stats = [
        (JOB_STATE_TEXT.get(k, k), jobs.get(k, 0), "bad" if k == "dead" and jobs.get(k) else "")
        for k in ("pending", "running", "done", "dead")
    ]
    rows = [
        {
            "id": j["id"],
            "cells": [
                j["id"],
                j["kind"],
                j["attempts"],
                cn_time(j["updated_at"]),
                (j["last_error"] or "")[:200],
            ],
        }
        for j in dead
    ]
    context = {"facts": facts, "job_stats": job_stats, "pull": pulled, "rows": rows}
    return ctx.render("system.html", "系统状态", context, active="system")


@routes.post("/console/admin/jobs/{id}/retry")
@page(*ADMIN)
async def retry_job(request: web.Request, ctx: Ctx) -> web.Response:
    try:
        job_id = int(request.match_info["id"])
    except ValueError:
        raise NotFound("没有这个失败任务") from None
    async with scoped(request).uow() as uow:
        if not await uow.jobs.retry_dead(job_id, now=ctx.now):
            raise NotFound("没有这个失败任务（可能已被重试）")
        await uow.console.audit(at=ctx.now, actor=ctx.user.name, action="job.retry", subject=str(job_id))
    if WORKERS in request.app:
        request.app[WORKERS].wake()
    return ctx.redirect("/console/admin/system", f"任务 {job_id} 已重新排队")
