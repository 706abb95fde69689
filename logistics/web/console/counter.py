"""The exceptions queue, self-pickup at the counter, and village proxy points."""

from __future__ import annotations

from aiohttp import web

from ...domain.errors import InvalidInput
from ...domain.status import Status
from ...service import pickup, village_points
from ...service.console_text import cn_time
from ...service.exceptions_queue import ATTENTION, list_exceptions
from ..keys import DEPS, SETTINGS
from .desk import DESK, ids_of, place, wake
from .guard import Ctx, page
from .html import Html, badge, button_form, card, csrf_field, h, table

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
    uow = request.app[DEPS].uow(read_only=True)
    items = await list_exceptions(uow, now=ctx.now, stuck_days=request.app[SETTINGS].stuck_days)
    counts: dict[str, int] = {}
    for item in items:
        counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    shown = [i for i in items if not kind or i["kind"] == kind]
    tabs = [
        Html(
            f'<a class="{"on" if not kind else ""}" href="/console/exceptions">全部<span class="count">'
            f"{len(items)}</span></a>"
        )
    ]
    tabs += [
        Html(
            f'<a class="{"on" if kind == k else ""}" href="/console/exceptions?kind={k}">{h(t)}'
            f'<span class="count">{counts.get(k, 0)}</span></a>'
        )
        for k, t in KIND_TEXT.items()
    ]
    rows = [_row(ctx, i) for i in shown]
    heads = ["类型", "办件编号", "运单号", "状态", "原因", "发生时间", "已等待", "处理"]
    body = table(heads, rows, empty="没有需要处理的异常，工作做得很好！", cls="list")
    return ctx.render(
        "异常处理",
        Html('<nav class="tabs">' + "".join(tabs) + "</nav>") + card("异常清单", body),
        active="exceptions",
    )


def _age(seconds: int) -> str:
    days, hours = seconds // 86400, seconds % 86400 // 3600
    return f"{days} 天 {hours} 小时" if days else f"{hours} 小时" if hours else "不到 1 小时"


def _row(ctx: Ctx, item: dict) -> list:
    from datetime import datetime

    dispatch_id = item["dispatch_id"]
    actions = []
    if dispatch_id:
        actions.append(Html(f'<a class="btn small" href="/console/dispatches/{h(dispatch_id)}">查看</a>'))
    if item["kind"] == "booking_failed":
        actions.append(Html(f'<a class="btn small" href="/console/dispatches/{h(dispatch_id)}">更正信息</a>'))
        actions.append(
            button_form(f"/console/dispatches/{dispatch_id}/book", "重新下单", ctx.csrf, kind="small primary")
        )
        actions.append(
            button_form(
                f"/console/dispatches/{dispatch_id}/cancel",
                "取消",
                ctx.csrf,
                kind="small danger",
                confirm="确定取消该寄递吗？",
            )
        )
    if item["kind"] == "dead_job" and ctx.user.role == "admin":
        actions.append(
            button_form(
                f"/console/admin/jobs/{item['job_id']}/retry", "重试任务", ctx.csrf, kind="small primary"
            )
        )
    kind = KIND_TEXT.get(item["kind"], item["kind"])
    if item["kind"] == "dead_job":
        kind += f"（{item['job_kind']}，第 {item['attempts']} 次）"
    return [
        Html(f'<span class="tag t-{h(item["kind"])}">{h(kind)}</span>'),
        item["case_no"] or "—",
        item["waybill_no"] or "—",
        badge(item["status"]) if item["status"] else "—",
        item["reason"],
        cn_time(datetime.fromisoformat(item["since"])),
        _age(item["age_s"]),
        Html('<div class="actions">' + "".join(actions) + "</div>"),
    ]


# ---- self-pickup at the counter -----------------------------------------------------------------


@routes.get("/console/pickup")
@page(*DESK)
async def pickup_page(request: web.Request, ctx: Ctx) -> web.Response:
    q = request.query.get("q", "").strip()[:64]
    async with request.app[DEPS].uow(read_only=True) as uow:
        waiting, total = await uow.console.search_dispatches(statuses=["awaiting_pickup"], q=q, limit=200)
        done, _ = await uow.console.search_dispatches(statuses=["picked_up"], limit=10)
    states = await pickup.codes_state(
        request.app[DEPS].uow(read_only=True), [d.id for d in waiting], now=ctx.now
    )
    rows = []
    for d in waiting:
        send = button_form(
            f"/console/pickup/{d.id}/send",
            "重发取件码" if d.id in states else "发送取件码",
            ctx.csrf,
            kind="small",
        )
        verify = Html(
            f'<form method="post" action="/console/pickup/{h(d.id)}/verify" class="inline verify">'
            f'{csrf_field(ctx.csrf)}<input name="code"'
            f' inputmode="numeric" pattern="[0-9]{{6}}" maxlength="6" '
            f'required placeholder="6位取件码" aria-label="{h(d.case_no)} 的取件码">'
            '<button class="btn small primary" type="submit">核验并交付</button></form>'
        )
        rows.append(
            [
                Html(f'<a href="/console/dispatches/{h(d.id)}">{h(d.case_no)}</a>'),
                d.recipient.name,
                d.recipient.phone,
                d.matter_name,
                cn_time(d.created_at),
                states.get(d.id, "未发送"),
                Html('<div class="actions">' + send + verify + "</div>"),
            ]
        )
    search = Html(
        f'<form class="search" method="get"><input name="q" value="{h(q)}" '
        'placeholder="办件编号或申请人姓名"><button class="btn">查找</button></form>'
    )
    howto = Html(
        '<ol class="steps"><li>证照到窗口后，点“发送取件码”，系统以短信把 6 位取件码发给申请人</li>'
        "<li>申请人到窗口出示短信，工作人员输入取件码核验</li><li>核验通过即记为“已自取”，全程留痕</li></ol>"
    )
    recent = table(
        ["办件编号", "申请人", "事项", "自取时间"],
        [[d.case_no, d.recipient.name, d.matter_name, cn_time(d.updated_at)] for d in done],
        empty="暂无",
    )
    heads = ["办件编号", "申请人", "手机号", "事项", "到窗时间", "取件码", "办理"]
    body = card(
        "窗口待取证照",
        howto + search + table(heads, rows, empty="没有待自取的证照", cls="list"),
        extra=f"共 {total} 件",
    ) + card("最近自取", recent)
    return ctx.render("窗口自取", body, active="pickup")


@routes.post("/console/pickup/{id}/send")
@page(*DESK)
async def pickup_send(request: web.Request, ctx: Ctx) -> web.Response:
    issued = await pickup.issue(request.app[DEPS], request.match_info["id"], actor=ctx.actor)
    phone = issued.phone[:3] + "****" + issued.phone[-4:] if len(issued.phone) >= 11 else "申请人"
    return ctx.redirect(
        "/console/pickup", f"取件码已通过短信发送至 {phone}，{cn_time(issued.expires_at)} 前有效"
    )


@routes.post("/console/pickup/{id}/verify")
@page(*DESK)
async def pickup_verify(request: web.Request, ctx: Ctx) -> web.Response:
    d = await pickup.release(
        request.app[DEPS].uow,
        request.match_info["id"],
        str(ctx.form.get("code", "")),
        actor=ctx.actor,
        now=ctx.now,
        max_attempts=request.app[SETTINGS].pickup_code_attempts,
    )
    return ctx.redirect("/console/pickup", f"取件码核验通过：{d.case_no} 已由 {d.recipient.name} 领取")


# ---- village proxy points -----------------------------------------------------------------------


@routes.get("/console/villages")
@page(*DESK)
async def villages(request: web.Request, ctx: Ctx) -> web.Response:
    found = await village_points.points(request.app[DEPS].uow(read_only=True))
    rows = [
        [
            Html(f'<a href="/console/villages/{h(p.code)}">{h(p.code)}</a>'),
            "、".join(sorted(p.towns)) or "—",
            p.total,
            p.open,
            p.to_confirm,
            p.by_status.get("delivered", 0),
            Html(
                f'<a class="btn small" href="/console/villages/{h(p.code)}">证照清单</a> '
                f'<a class="btn small" href="/console/villages/{h(p.code)}/handover"'
                ' target="_blank">交接单</a>'
            ),
        ]
        for p in found
    ]
    heads = ["代办点编码", "乡镇", "证照总数", "未完结", "待代办点确认", "已送达", ""]
    return ctx.render(
        "村级代办点",
        card("代办点", table(heads, rows, empty="暂无送达代办点的证照", cls="list")),
        active="villages",
    )


@routes.get("/console/villages/{code}")
@page(*DESK)
async def village(request: web.Request, ctx: Ctx) -> web.Response:
    code = request.match_info["code"]
    found = await village_points.of_point(request.app[DEPS].uow(read_only=True), code)
    rows = []
    for d in found:
        can = d.status in village_points.AT_OR_TO_POINT or d.status is Status.DELIVERED
        box = (
            Html(
                f'<input type="checkbox" name="ids" value="{h(d.id)}" form="confirm" class="pick" '
                f'aria-label="选择 {h(d.case_no)}">'
            )
            if can
            else ""
        )
        rows.append(
            [
                box,
                Html(f'<a href="/console/dispatches/{h(d.id)}">{h(d.case_no)}</a>'),
                badge(d.status.value),
                d.waybill_no or "—",
                d.recipient.name,
                d.recipient.phone,
                place(d),
                d.matter_name,
            ]
        )
    form = Html(
        f'<form id="confirm" method="post" action="/console/villages/{h(code)}/confirm" class="batchbar">'
        f'{csrf_field(ctx.csrf)}<span class="sel" id="picked">已选 0 件</span>'
        '<label for="clerk">代办点经办人</label><input id="clerk" name="clerk" maxlength="40" required>'
        '<button class="btn primary" type="submit" data-confirm="确认所选证照已由代办点交到申请人手中？">'
        "确认已送达申请人</button>"
        f'<a class="btn" href="/console/villages/{h(code)}/handover"'
        ' target="_blank">打印代办点交接单</a></form>'
    )
    heads = ["", "办件编号", "状态", "运单号", "申请人", "手机号", "地址", "事项"]
    body = card(
        f"代办点 {code} 的证照",
        form + table(heads, rows, empty="该代办点暂无证照", cls="list"),
        extra=f"共 {len(found)} 件",
    )
    return ctx.render(
        f"村级代办点 {code}",
        Html('<p><a href="/console/villages">← 全部代办点</a></p>') + body,
        active="villages",
    )


@routes.post("/console/villages/{code}/confirm")
@page(*DESK)
async def village_confirm(request: web.Request, ctx: Ctx) -> web.Response:
    code = request.match_info["code"]
    result = await village_points.confirm(
        request.app[DEPS].uow(),
        code,
        ids_of(ctx),
        clerk=str(ctx.form.get("clerk", "")),
        actor=ctx.actor,
        now=ctx.now,
    )
    wake(request)
    text = f"代办点 {code}：已确认送达 {len(result.delivered)} 件"
    if result.skipped:
        text += f"；{len(result.skipped)} 件尚未交寄，未处理"
    return ctx.redirect(f"/console/villages/{code}", text, kind="warn" if result.skipped else "ok")


@routes.get("/console/villages/{code}/handover")
@page(*DESK)
async def village_handover(request: web.Request, ctx: Ctx) -> web.Response:
    """The point's own handover list: a printable page the clerk signs line by line."""
    code = request.match_info["code"]
    uow = request.app[DEPS].uow(read_only=True)
    found = [d for d in await village_points.of_point(uow, code) if d.status in village_points.AT_OR_TO_POINT]
    if not found:
        raise InvalidInput([("code", f"代办点 {code} 目前没有在途或待交付的证照")])
    rows = [
        [
            n,
            d.case_no,
            d.waybill_no or "",
            d.recipient.name,
            d.recipient.phone,
            d.matter_name,
            "、".join(i.title for i in d.items),
            "",
            "",
        ]
        for n, d in enumerate(found, 1)
    ]
    heads = ["序号", "办件编号", "运单号", "申请人", "手机号", "事项", "证照", "申请人签字", "领取日期"]
    origin = request.app[SETTINGS].origin
    sheet = Html(
        f'<div class="sheet"><h2>村级代办点证照交接单</h2><p class="sheet-meta">代办点：{h(code)}　'
        f"寄出单位：{h(origin.name)}　打印时间：{h(cn_time(ctx.now))}　共 {len(found)} 件</p>"
        + table(heads, rows, cls="print")
        + '<p class="sheet-sign">代办点经办人签字：＿＿＿＿＿＿　日期：＿＿＿＿＿＿　'
        "寄递员签字：＿＿＿＿＿＿</p>"
        '<p class="noprint"><button class="btn primary" type="button" id="print-page">打印</button></p></div>'
    )
    return ctx.render(f"代办点 {code} 交接单", sheet, active="villages")
