"""The exceptions queue and self-pickup at the counter (village proxy points: villages.py)."""

from __future__ import annotations

from aiohttp import web

from ...domain.errors import InvalidInput
from ...service import pickup, pickup_delivery
from ...service.console_text import cn_time
from ...service.exceptions_queue import ATTENTION, list_exceptions
from ..api.pickup import slip_response
from ..auth import scoped
from ..keys import DEPS, SETTINGS
from .desk import DESK
from .guard import Ctx, page

routes = web.RouteTableDef()

KIND_TEXT = {
    "stuck": "长时间无轨迹",
    "delivery_failed": "投递未成功",
    "returned": "已退回",
    "booking_failed": "下单失败",
    "dead_job": "后台任务失败",
}


# ---- exceptions ---------------------------------------------------------------------------------


@routes.get("/console/exceptions")
@page(*DESK)
async def exceptions(request: web.Request, ctx: Ctx) -> web.Response:
    kind = request.query.get("kind", "")
    if kind and kind not in KIND_TEXT and kind not in ATTENTION:
        raise InvalidInput([("kind", f"未知的异常类型 {kind!r}；可选：{'、'.join(KIND_TEXT)}")])
    uow = scoped(request).uow(read_only=True)
    items = await list_exceptions(uow, now=ctx.now, stuck_days=request.app[SETTINGS].stuck_days)
    counts: dict[str, int] = {}
    for item in items:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    shown = [i for i in items if not kind or i["kind"] == kind]
    tabs = [{"on": not kind, "href": "/console/exceptions", "label": "全部", "n": len(items)}]
    tabs += [
        {"on": kind == k, "href": f"/console/exceptions?kind={k}", "label": t, "n": counts.get(k, 0)}
        for k, t in KIND_TEXT.items()
    ]
    context = {"tabs": tabs, "rows": [_row(ctx, i) for i in shown]}
    return ctx.render("exceptions.html", "异常处理", context, active="exceptions")


def _age(seconds: int) -> str:
    days, hours = seconds // 86400, seconds % 86400 // 3600
    return f"{days} 天 {hours} 小时" if days else f"{hours} 小时" if hours else "不到 1 小时"


def _row(ctx: Ctx, item: dict) -> dict:
    from datetime import datetime

    kind = KIND_TEXT.get(item["kind"], item["kind"])
    if item["kind"] == "dead_job":
        kind += f"（{item['job_kind']}，第 {item['attempts']} 次）"
    return {
        "item": item,
        "kind": kind,
        "since": cn_time(datetime.fromisoformat(item["since"])),
        "age": _age(item["age_s"]),
        "correct": item["kind"] == "booking_failed",  # correct the details, book again or cancel
        "retry_job": item["kind"] == "dead_job" and ctx.user.role == "admin",
    }


# ---- self-pickup at the counter -----------------------------------------------------------------


@routes.get("/console/pickup")
@page(*DESK)
async def pickup_page(request: web.Request, ctx: Ctx) -> web.Response:
    q = request.query.get("q", "").strip()[:64]
    async with scoped(request).uow(read_only=True) as uow:
        waiting, total = await uow.console.search_dispatches(statuses=["awaiting_pickup"], q=q, limit=200)
        done, _ = await uow.console.search_dispatches(statuses=["picked_up"], limit=10)
    states = await pickup.codes_state(
        scoped(request).uow(read_only=True), [d.id for d in waiting], now=ctx.now
    )
    to_print = [d for d in waiting if states.get(d.id, "").startswith(pickup.TO_PRINT)]
    context = {
        "q": q, "waiting": waiting, "states": states, "total": total, "done": done, "to_print": to_print,
        "sms_on": request.app[DEPS].notifier is not None, "to_print_mark": pickup.TO_PRINT,
    }  # fmt: skip
    return ctx.render("pickup.html", "窗口自取", context, active="pickup")


@routes.post("/console/pickup/{id}/send")
@page(*DESK)
async def pickup_send(request: web.Request, ctx: Ctx) -> web.Response:
    issued = await pickup_delivery.resend(scoped(request), request.match_info["id"], actor=ctx.actor)
    phone = issued.phone[:3] + "****" + issued.phone[-4:] if len(issued.phone) >= 11 else "申请人"
    return ctx.redirect(
        "/console/pickup",
        f"新取件码已通过短信发送至 {phone}，{cn_time(issued.expires_at)} 前有效，旧取件码作废",
    )


@routes.post("/console/pickup/{id}/slip")
@page(*DESK)
async def pickup_slip(request: web.Request, ctx: Ctx) -> web.Response:
    """The pickup slip (取件通知单) with a new code, as a PDF to print; the old code stops working."""
    return await slip_response(scoped(request), request.match_info["id"], actor=ctx.actor)


@routes.post("/console/pickup/{id}/verify")
@page(*DESK)
async def pickup_verify(request: web.Request, ctx: Ctx) -> web.Response:
    d = await pickup.release(
        scoped(request).uow,
        request.match_info["id"],
        str(ctx.form.get("code", "")),
        actor=ctx.actor,
        now=ctx.now,
        max_attempts=request.app[SETTINGS].pickup_code_attempts,
    )
    return ctx.redirect("/console/pickup", f"取件码核验通过：{d.case_no} 已由 {d.recipient.name} 领取")
