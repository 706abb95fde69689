"""The dispatcher's desk: dispatches by status with search, a dispatch with its timeline and audit trail,
booking / retry / cancel, labels one by one or in batches, the handover manifest and its confirmation."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from labels import LABEL_SIZES, Origin, render_labels, render_manifest

from ...domain.errors import InvalidInput
from ...domain.status import Status
from ...domain.validation import text_problem
from ...service import dispatches as dispatch_service
from ...service import printing
from ...service.console_text import CHINA, DIRECTION_TEXT, STATUS_SHORT, cn_time, method_text
from ...storage import console_repo, dispatch_repo
from ...storage.db import reading
from ...storage.tracking import SqlTrackingRecords
from ..keys import SETTINGS, WORKERS
from .guard import Ctx, page
from .html import Html, badge, button_form, card, csrf_field, dl, h, join, table, url

routes = web.RouteTableDef()
DESK = ("dispatcher",)
PAGE_SIZE = 100

TABS = [
    ("all", "全部", None),
    ("to_book", "待下单", ["received"]),
    ("failed", "下单失败", ["booking_failed"]),
    ("booking", "下单中", ["booking"]),
    ("to_print", "待打印", ["booked"]),
    ("to_hand", "待交接", ["label_printed"]),
    ("moving", "运输中", ["handed_over", "in_transit", "out_for_delivery"]),
    ("trouble", "投递异常", ["delivery_failed", "returning", "returned"]),
    ("done", "已送达", ["delivered", "picked_up"]),
    ("pickup", "待自取", ["awaiting_pickup"]),
    ("cancelled", "已取消", ["cancelled"]),
]
CAUSE_TEXT = {
    "received": "收到审批系统推送",
    "intake": "收到审批系统推送",
    "booking with the carrier": "向邮政下单",
    "booked with the carrier": "邮政下单成功",
    "booking failed": "邮政下单失败",
    "cancelled at the carrier": "邮政已撤单",
    "carrier refused to cancel": "邮政拒绝撤单",
    "self-pickup at the hall": "申请人选择窗口自取",
    "booking requested": "工作人员发起下单",
    "label printed": "打印面单",
    "label reprinted": "补打面单",
    "manifest printed": "打印交接清单",
    "handed over": "交邮政揽收",
    "handover confirmed": "确认交接",
    "cancel requested": "申请取消",
    "cancelled by staff": "工作人员取消",
    "recipient details corrected": "更正收件信息",
    "pickup code sent": "发送取件码短信",
    "pickup code rejected": "取件码核验未通过",
    "picked up at the counter (pickup code verified)": "窗口自取（取件码核验通过）",
    "delivered at the village point": "村级代办点签收",
    "village point clerk confirmed": "代办点经办人确认交付",
}


def wake(request: web.Request) -> None:
    if WORKERS in request.app:
        request.app[WORKERS].wake()


def ids_of(ctx: Ctx) -> list[str]:
    return [str(i) for i in ctx.form.getall("ids", []) if str(i).strip()]


def place(d) -> str:
    a = d.address
    return f"{a.province}{a.city}{a.county}{a.town}{a.detail}"


# ---- list ---------------------------------------------------------------------------------------


@routes.get("/console/dispatches")
@page(*DESK)
async def dispatch_list(request: web.Request, ctx: Ctx) -> web.Response:
    tab = request.query.get("tab", "all")
    if tab not in {key for key, _, _ in TABS}:
        raise InvalidInput([("tab", f"未知的分类 {tab!r}；可选：{'、'.join(key for key, _, _ in TABS)}")])
    statuses = next((s for key, _, s in TABS if key == tab), None)
    q = request.query.get("q", "").strip()[:64]
    try:
        offset = max(0, int(request.query.get("offset", 0)))
    except ValueError:
        offset = 0
    async with reading(ctx.engine) as conn:
        found, total = await console_repo.search_dispatches(
            conn, statuses=statuses, q=q, limit=PAGE_SIZE, offset=offset
        )
        counts = await console_repo.count_by_status(conn)
    return ctx.render("寄递单", _list_page(ctx, tab, q, found, total, offset, counts), active="dispatches")


def _tabs(tab: str, q: str, counts: dict) -> Html:
    links = []
    for key, label, statuses in TABS:
        n = sum(counts.values()) if statuses is None else sum(counts.get(s, 0) for s in statuses)
        cls = "on" if key == tab else ""
        links.append(
            Html(
                f'<a class="{cls}" href="{h(url("/console/dispatches", tab=key, q=q))}">{h(label)}'
                f'<span class="count">{n}</span></a>'
            )
        )
    return Html(f'<nav class="tabs">{join(links)}</nav>')


def _list_page(ctx: Ctx, tab, q, found, total, offset, counts) -> Html:
    search = Html(
        f'<form class="search" method="get" action="/console/dispatches"><input type="hidden" name="tab" '
        f'value="{h(tab)}"><input name="q" value="{h(q)}" placeholder="办件编号、运单号或收件人姓名" '
        'aria-label="搜索"><button class="btn" type="submit">搜索</button>'
        + (Html(f'<a class="btn link" href="{h(url("/console/dispatches", tab=tab))}">清除</a>') if q else "")
        + "</form>"
    )
    rows = []
    for d in found:
        check = Html(
            f'<input type="checkbox" name="ids" value="{h(d.id)}" form="batch" class="pick" '
            f'data-status="{h(d.status.value)}" aria-label="选择 {h(d.case_no)}">'
        )
        link = Html(f'<a href="/console/dispatches/{h(d.id)}">{h(d.case_no)}</a>')
        rows.append(
            [
                check,
                link,
                badge(d.status.value),
                d.waybill_no or "—",
                d.recipient.name,
                d.address.town or d.address.county,
                DIRECTION_TEXT.get(d.direction.value, d.direction.value),
                method_text(d.direction.value, d.delivery_method.value),
                d.matter_name,
                cn_time(d.updated_at or d.created_at),
            ]
        )
    sizes = join(Html(f'<option value="{h(s)}">{h(_size_text(s))}</option>') for s in LABEL_SIZES)
    batch = Html(
        '<form id="batch" method="post" action="/console/dispatches/book"'
        f' class="batchbar">{csrf_field(ctx.csrf)}'
        '<label class="chk"><input type="checkbox" id="pick-all"> 全选本页</label>'
        '<span class="sel" id="picked">已选 0 件</span>'
        '<button class="btn primary" type="submit" id="book-selected">批量下单</button>'
        f'<select name="size" id="label-size" aria-label="面单规格">{sizes}</select>'
        '<button class="btn primary" type="button" id="print-selected" data-action="/console/labels">'
        "批量打印面单</button>"
        '<a class="btn" href="/console/handover">去交接 →</a>'
        '<span class="progress" id="print-progress" role="status" aria-live="polite"></span></form>'
    )
    heads = ["", "办件编号", "状态", "运单号", "收件人", "乡镇", "方向", "方式", "事项", "更新时间"]
    more = ""
    if total > offset + PAGE_SIZE:
        more = Html(
            '<p class="pager"><a class="btn"'
            f' href="{h(url("/console/dispatches", tab=tab, q=q, offset=offset + PAGE_SIZE))}">'
            "下一页</a></p>"
        )
    shown = f"共 {total} 件" + (f"，显示第 {offset + 1}–{min(total, offset + PAGE_SIZE)} 件" if total else "")
    return Html(
        _tabs(tab, q, counts)
        + card(
            "寄递单列表",
            search + batch + table(heads, rows, empty="没有符合条件的寄递单", cls="list") + more,
            extra=shown,
        )
    )


def _size_text(size: str) -> str:
    return {"100x150": "热敏 100×150", "100x180": "热敏 100×180", "a4": "A4 整页"}.get(size, size)


# ---- one dispatch -------------------------------------------------------------------------------


@routes.get("/console/dispatches/{id}")
@page(*DESK)
async def dispatch_page(request: web.Request, ctx: Ctx) -> web.Response:
    async with reading(ctx.engine) as conn:
        d = await dispatch_service.load(conn, request.match_info["id"])
        events = await dispatch_repo.events(conn, d.id)
        scans = await SqlTrackingRecords(conn).events_for(d.waybill_no) if d.waybill_no else []
    return ctx.render(f"寄递单 {d.case_no}", _detail(ctx, d, events, scans), active="dispatches")


def _actions(ctx: Ctx, d) -> Html:
    base, out = f"/console/dispatches/{d.id}", []
    if d.status in (Status.RECEIVED, Status.BOOKING_FAILED) and d.needs_carrier:
        label = "重新下单" if d.status is Status.BOOKING_FAILED else "下单"
        out.append(button_form(f"{base}/book", label, ctx.csrf, kind="primary"))
    if d.waybill_no and d.status not in (Status.CANCELLED, Status.RECEIVED, Status.BOOKING_FAILED):
        for size in LABEL_SIZES:
            out.append(
                Html(
                    f'<a class="btn" href="{base}/label.pdf?size={size}" target="_blank" '
                    f'rel="noopener">打印面单（{h(_size_text(size))}）</a>'
                )
            )
    if d.status is Status.AWAITING_PICKUP:
        out.append(Html(f'<a class="btn primary" href="/console/pickup?q={h(d.case_no)}">窗口自取办理</a>'))
    if d.status in (
        Status.RECEIVED,
        Status.BOOKING_FAILED,
        Status.AWAITING_PICKUP,
        Status.BOOKING,
        Status.BOOKED,
        Status.LABEL_PRINTED,
    ):
        out.append(
            button_form(
                f"{base}/cancel",
                "取消寄递",
                ctx.csrf,
                kind="danger",
                confirm=f"确定取消 {d.case_no} 的寄递吗？已下单的将向邮政申请撤单。",
            )
        )
    return (
        Html('<div class="actions">' + join(out) + "</div>")
        if out
        else Html('<p class="muted">当前状态无可执行操作</p>')
    )


def _detail(ctx: Ctx, d, events, scans) -> Html:
    items = "；".join(f"{i.title}{(' ' + i.number) if i.number else ''} ×{i.copies}" for i in d.items)
    facts = dl(
        [
            ("状态", badge(d.status.value)),
            ("办件编号", d.case_no),
            ("运单号", d.waybill_no or "—"),
            ("我方订单号", d.order_no),
            ("事项", d.matter_name),
            ("部门", d.department_name),
            ("证照", items),
            ("方向", DIRECTION_TEXT.get(d.direction.value, d.direction.value)),
            (
                "方式",
                method_text(d.direction.value, d.delivery_method.value)
                + (f"（代办点 {d.village_point_code}）" if d.village_point_code else ""),
            ),
            ("收件人", f"{d.recipient.name}  {d.recipient.phone}"),
            ("地址", place(d)),
            ("邮编", d.address.postcode),
            ("重量", f"{d.weight_g} 克"),
            ("办结时间", cn_time(d.completed_at)),
            ("受理时间", cn_time(d.created_at)),
            ("原因", d.reason or "—"),
        ]
    )
    timeline = (
        Html(
            '<ol class="timeline">'
            + join(
                Html(
                    f'<li><div class="t">{h(cn_time(s.time))} · {h(s.location)}</div><div class="d">'
                    f'{h(s.description)} <span class="muted">[{h(s.raw_code)}'
                    f" {h(STATUS_SHORT.get(s.status, s.status))}]</span></div></li>"
                )
                for s in scans
            )
            + "</ol>"
        )
        if scans
        else Html('<p class="muted">暂无邮政轨迹。邮件揽收后将显示。</p>')
    )
    audit_rows = [
        [
            cn_time(e.at, seconds=True),
            _actor(e.actor),
            CAUSE_TEXT.get(e.cause, e.cause),
            Html(f"{badge(e.from_status.value)} → {badge(e.to_status.value)}")
            if e.from_status and e.to_status and e.from_status != e.to_status
            else "—",
            _detail_text(e.detail),
        ]
        for e in reversed(events)
    ]
    audit = table(["时间", "操作人", "事由", "状态变化", "详情"], audit_rows, empty="暂无记录")
    return Html(
        '<p><a href="/console/dispatches">← 返回寄递单列表</a></p>'
        + card("基本信息", facts + _actions(ctx, d))
        + '<div class="split">'
        + card("物流轨迹", timeline)
        + card("操作留痕", audit)
        + "</div>"
    )


def _actor(actor: str) -> str:
    kind, _, name = actor.partition(":")
    if kind == "client":
        return "审批系统" if name == "approval" else f"接入系统 {name}"
    return {"staff": f"工作人员 {name}", "system": "系统"}.get(kind, actor)


def _detail_text(detail: dict) -> str:
    labels = {
        "manifest_id": "清单",
        "courier": "揽收人",
        "waybill_no": "运单号",
        "clerk": "经办人",
        "village_point_code": "代办点",
        "reason": "原因",
        "expires_at": "有效期至",
        "fields": "字段",
    }
    parts = []
    for key, value in (detail or {}).items():
        if value in ("", None, [], {}):
            continue
        if key == "expires_at":
            from datetime import datetime

            value = cn_time(datetime.fromisoformat(value))
        parts.append(f"{labels.get(key, key)}：{value}")
    return "；".join(parts) or "—"


# ---- actions ------------------------------------------------------------------------------------


@routes.post("/console/dispatches/{id}/book")
@page(*DESK)
async def book_one(request: web.Request, ctx: Ctx) -> web.Response:
    d = await dispatch_service.request_booking(
        ctx.engine, request.match_info["id"], actor=ctx.actor, now=ctx.now
    )
    wake(request)
    return ctx.redirect(f"/console/dispatches/{d.id}", f"{d.case_no} 已提交下单，稍候刷新查看运单号")


@routes.post("/console/dispatches/book")
@page(*DESK)
async def book_many(request: web.Request, ctx: Ctx) -> web.Response:
    ids = ids_of(ctx)
    if not ids:
        raise InvalidInput([("ids", "请先勾选要下单的寄递单")])
    done, refused = 0, []
    for dispatch_id in ids:
        try:
            await dispatch_service.request_booking(ctx.engine, dispatch_id, actor=ctx.actor, now=ctx.now)
            done += 1
        except Exception as e:
            refused.append(str(e))
    wake(request)
    message = f"已提交 {done} 件下单" + (f"；{len(refused)} 件未提交：{refused[0]}" if refused else "")
    return ctx.redirect(back_to_list(request), message, kind="warn" if refused else "ok")


def back_to_list(request: web.Request) -> str:
    from .guard import back

    return back(request, "/console/dispatches")


@routes.post("/console/dispatches/{id}/cancel")
@page(*DESK)
async def cancel(request: web.Request, ctx: Ctx) -> web.Response:
    d = await dispatch_service.cancel(ctx.engine, request.match_info["id"], actor=ctx.actor, now=ctx.now)
    wake(request)
    text = "已取消" if d.status is Status.CANCELLED else "已向邮政申请撤单，完成后状态变为已取消"
    return ctx.redirect(f"/console/dispatches/{d.id}", f"{d.case_no} {text}")


# ---- labels and manifests -----------------------------------------------------------------------


def hall(request: web.Request) -> tuple[Origin, str]:
    settings = request.app[SETTINGS]
    public_url = settings.public_url or f"{request.scheme}://{request.host}"
    return Origin.from_mapping(settings.origin.model_dump()), public_url


def _labels_pdf(dispatches, *, size: str, origin: Origin, public_url: str) -> bytes:
    return render_labels(dispatches, size, origin=origin, public_url=public_url)


def pdf(content: bytes, filename: str, **headers) -> web.Response:
    return web.Response(
        body=content,
        content_type="application/pdf",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            **headers,
        },
    )


def _size(value: str) -> str:
    if value not in LABEL_SIZES:
        raise InvalidInput([("size", "面单规格不对")])
    return value


@routes.get("/console/dispatches/{id}/label.pdf")
@page(*DESK)
async def label(request: web.Request, ctx: Ctx) -> web.Response:
    origin, public_url = hall(request)
    render = partial(
        _labels_pdf, size=_size(request.query.get("size", "100x150")), origin=origin, public_url=public_url
    )
    content = await printing.print_label(
        ctx.engine, request.match_info["id"], render, actor=ctx.actor, now=ctx.now
    )
    return pdf(content, f"label-{request.match_info['id'][:8]}.pdf")


@routes.post("/console/labels")
@page(*DESK)
async def labels_batch(request: web.Request, ctx: Ctx) -> web.Response:
    ids = ids_of(ctx)
    origin, public_url = hall(request)
    size = _size(str(ctx.form.get("size", "100x150")))
    render = partial(_labels_pdf, size=size, origin=origin, public_url=public_url)
    try:
        content = await printing.print_labels(ctx.engine, ids, render, actor=ctx.actor, now=ctx.now)
    except printing.NotBooked as e:
        raise InvalidInput(
            [("ids", "以下寄递单还没有运单号或已取消，不能打印：" + "、".join(d.case_no for d in e.refused))]
        ) from None
    return pdf(content, f"labels-{len(ids)}.pdf", **{"X-Count": str(len(ids))})


@routes.get("/console/handover")
@page(*DESK)
async def handover_page(request: web.Request, ctx: Ctx) -> web.Response:
    async with reading(ctx.engine) as conn:
        ready, total = await console_repo.search_dispatches(
            conn, statuses=["label_printed", "booked"], limit=printing.MAX_BATCH
        )
    ready.sort(key=lambda d: (d.status is not Status.LABEL_PRINTED, d.address.town, d.case_no))
    rows = [
        [
            Html(
                f'<input type="checkbox" name="ids" value="{h(d.id)}" form="handover" class="pick" '
                f'{"checked" if d.status is Status.LABEL_PRINTED else ""} aria-label="选择 {h(d.case_no)}">'
            ),
            Html(f'<a href="/console/dispatches/{h(d.id)}">{h(d.case_no)}</a>'),
            badge(d.status.value),
            d.waybill_no,
            d.recipient.name,
            d.address.town or d.address.county,
            d.matter_name,
        ]
        for d in ready
    ]
    form = Html(
        '<form id="handover" method="post" action="/console/handover/confirm"'
        f' class="batchbar">{csrf_field(ctx.csrf)}'
        '<label class="chk"><input type="checkbox" id="pick-all" checked> 全选</label>'
        '<span class="sel" id="picked">已选 0 件</span>'
        '<label for="courier">揽收人</label><input id="courier" name="courier" maxlength="40" required '
        'placeholder="邮政揽收员姓名">'
        '<input type="hidden" name="manifest_id" id="manifest-id" value="">'
        '<button class="btn" type="button" id="print-manifest"'
        ' data-action="/console/manifests">打印交接清单</button>'
        '<button class="btn primary" type="submit" id="confirm-handover" '
        'data-confirm="确认所选邮件已由揽收员当面清点收走？">确认已交接</button>'
        '<span class="progress" id="manifest-progress" role="status" aria-live="polite"></span></form>'
    )
    steps = Html(
        '<ol class="steps"><li>勾选本次交给揽收员的邮件</li><li>填写揽收员姓名，打印交接清单一式两份'
        "</li><li>双方清点签字后，点击“确认已交接”</li></ol>"
    )
    heads = ["", "办件编号", "状态", "运单号", "收件人", "乡镇", "事项"]
    body = steps + form + table(heads, rows, empty="暂无待交接的邮件", cls="list")
    return ctx.render("交接揽收", card("待交接邮件", body, extra=f"共 {total} 件"), active="handover")


@routes.post("/console/manifests")
@page(*DESK)
async def manifest(request: web.Request, ctx: Ctx) -> web.Response:
    ids, courier = ids_of(ctx), str(ctx.form.get("courier", "")).strip()[:40]
    if problem := text_problem(courier):
        raise InvalidInput([("courier", problem)])
    origin, _ = hall(request)
    now = ctx.now

    def render(found) -> bytes:
        return render_manifest(found, origin=origin, courier=courier, at=now.astimezone(CHINA))

    printed = await printing.print_manifest(
        ctx.engine, ids, render, courier=courier, actor=ctx.actor, now=now
    )
    return pdf(
        printed.content, f"manifest-{printed.manifest_id}.pdf", **{"X-Manifest-Id": printed.manifest_id}
    )


@routes.post("/console/handover/confirm")
@page(*DESK)
async def confirm(request: web.Request, ctx: Ctx) -> web.Response:
    ids, courier = ids_of(ctx), str(ctx.form.get("courier", "")).strip()
    if not courier or len(courier) > 40:
        raise InvalidInput([("courier", "请填写揽收员姓名（最多 40 字）")])
    if problem := text_problem(courier):
        raise InvalidInput([("courier", problem)])
    manifest_id = str(ctx.form.get("manifest_id", "")).strip()[:64] or None
    result = await printing.confirm_handover(
        ctx.engine, ids, courier=courier, manifest_id=manifest_id, actor=ctx.actor, now=ctx.now
    )
    text = f"已确认交接 {len(result.handed_over)} 件给揽收员 {courier}"
    if result.skipped:
        text += f"；{len(result.skipped)} 件此前已交接，未重复记录"
    return ctx.redirect("/console/handover", text)
