"""The dispatcher's desk: dispatches by status with search, a dispatch with its timeline and audit trail,
booking / retry / cancel, labels one by one or in batches, the handover manifest and its confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from aiohttp import web

from labels import LABEL_SIZES, render_labels, render_manifest

from ...domain.case_progress import STAGE_TEXT
from ...domain.cause import Cause
from ...domain.errors import InvalidInput
from ...domain.hall import Hall
from ...domain.model import AuditEvent
from ...domain.status import Status
from ...domain.validation import text_problem
from ...service import dispatches as dispatch_service
from ...service import halls, printing
from ...service.console_text import CHINA, DIRECTION_TEXT, cn_time, method_text
from ...storage.outage import database_unavailable
from ..auth import scoped
from ..keys import SETTINGS, WORKERS
from .guard import Ctx, page
from .templating import url

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


def wake(request: web.Request) -> None:
    if WORKERS in request.app:
        request.app[WORKERS].wake()


def ids_of(ctx: Ctx) -> list[str]:
    """The ticked dispatch ids; one with a NUL names no dispatch (and PostgreSQL text cannot hold it)."""
    return [str(i) for i in ctx.form.getall("ids", []) if str(i).strip() and "\x00" not in str(i)]


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
    deps, hall = scoped(request), ""
    if ctx.hall is None and request.query.get("hall") in {h.code for h in ctx.halls}:
        hall = request.query["hall"]  # staff over every hall may look at one
        deps = deps.for_hall(hall)
    async with deps.uow(read_only=True) as uow:
        found, total = await uow.console.search_dispatches(
            statuses=statuses, q=q, limit=PAGE_SIZE, offset=offset
        )
        counts = await uow.console.count_by_status()
    context = _list_page(tab, q, found, total, offset, counts, hall)
    choices = [(h.code, h.name) for h in ctx.halls] if ctx.hall is None and len(ctx.halls) > 1 else []
    context["hall_choices"] = choices
    return ctx.render("dispatches.html", "寄递单", context, active="dispatches")


def _tabs(tab: str, q: str, counts: dict, hall: str = "") -> list[dict]:
    tabs = []
    for key, label, statuses in TABS:
        n = sum(counts.values()) if statuses is None else sum(counts.get(s, 0) for s in statuses)
        href = url("/console/dispatches", tab=key, q=q, hall=hall)
        tabs.append({"on": key == tab, "href": href, "label": label, "n": n})
    return tabs


def _list_page(tab, q, found, total, offset, counts, hall: str = "") -> dict:
    rows = [
        {
            "d": d,
            "cells": [
                d.waybill_no or "—",
                d.recipient.name,
                d.address.town or d.address.county,
                DIRECTION_TEXT.get(d.direction.value, d.direction.value),
                method_text(d.direction.value, d.delivery_method.value),
                d.matter_name,
                cn_time(d.updated_at or d.created_at),
            ],
        }
        for d in found
    ]
    more = total > offset + PAGE_SIZE
    shown = f"共 {total} 件" + (f"，显示第 {offset + 1}–{min(total, offset + PAGE_SIZE)} 件" if total else "")
    return {
        "tabs": _tabs(tab, q, counts, hall),
        "tab": tab,
        "q": q,
        "hall": hall,
        "clear_href": url("/console/dispatches", tab=tab, hall=hall),
        "sizes": [(size, _size_text(size)) for size in LABEL_SIZES],
        "rows": rows,
        "next_href": url("/console/dispatches", tab=tab, q=q, hall=hall, offset=offset + PAGE_SIZE)
        if more
        else "",
        "shown": shown,
    }


def _size_text(size: str) -> str:
    return {"100x150": "热敏 100×150", "100x180": "热敏 100×180", "a4": "A4 整页"}.get(size, size)


# ---- one dispatch -------------------------------------------------------------------------------


@routes.get("/console/dispatches/{id}")
@page(*DESK)
async def dispatch_page(request: web.Request, ctx: Ctx) -> web.Response:
    async with scoped(request).uow(read_only=True) as uow:
        d = await dispatch_service.load(uow, request.match_info["id"])
        events = await uow.dispatches.events(d.id)
        scans = await uow.tracking.events_for(d.waybill_no) if d.waybill_no else []
        others = [o for o in await uow.dispatches.of_case(d.client_id, d.case_no) if o.id != d.id]
        stages = await uow.cases.of_case(d.client_id, d.case_no)
    context = {**_detail(d, events, scans), **_case(others, stages)}
    return ctx.render("dispatch.html", f"寄递单 {d.case_no}", context, active="dispatches")


def _case(others, stages) -> dict:
    """The case around the dispatch (in the caller's hall): its other direction's dispatch and the
    approval system's stages (办件进度), the newest first."""
    return {
        "others": [
            {
                "d": o,
                "direction": DIRECTION_TEXT.get(o.direction.value, o.direction.value),
                "method": method_text(o.direction.value, o.delivery_method.value),
            }
            for o in others
        ],
        "stages": [
            {"at": cn_time(e.at), "stage": STAGE_TEXT[e.stage], "note": e.note or "—"}
            for e in reversed(stages)
        ],
    }


def _actions(d) -> dict:
    """What the dispatch's page offers in its state (empty values: not offered)."""
    can_book = d.status in (Status.RECEIVED, Status.BOOKING_FAILED) and d.needs_carrier
    printable = d.waybill_no and d.status not in (Status.CANCELLED, Status.RECEIVED, Status.BOOKING_FAILED)
    cancellable = d.status in (
        Status.RECEIVED,
        Status.BOOKING_FAILED,
        Status.AWAITING_PICKUP,
        Status.BOOKING,
        Status.BOOKED,
        Status.LABEL_PRINTED,
    )
    return {
        "book": ("重新下单" if d.status is Status.BOOKING_FAILED else "下单") if can_book else "",
        "label_sizes": [(size, _size_text(size)) for size in LABEL_SIZES] if printable else [],
        "pickup": d.status is Status.AWAITING_PICKUP,
        "cancel": f"确定取消 {d.case_no} 的寄递吗？已下单的将向邮政申请撤单。" if cancellable else "",
    }


def _detail(d, events, scans) -> dict:
    items = "；".join(f"{i.title}{(' ' + i.number) if i.number else ''} ×{i.copies}" for i in d.items)
    facts = [
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
    audit = [
        {
            "at": cn_time(e.at, seconds=True),
            "actor": _actor(e.actor),
            "cause": cause_text(e),
            "change": (e.from_status.value, e.to_status.value)
            if e.from_status and e.to_status and e.from_status != e.to_status
            else None,
            "detail": _detail_text(e.detail),
        }
        for e in reversed(events)
    ]
    return {"d": d, "facts": facts, "actions": _actions(d), "scans": scans, "audit": audit}


def cause_text(e: AuditEvent) -> str:
    """The cause in Chinese; one that is no Cause (an older row's) as it was recorded."""
    if not isinstance(e.cause, Cause):
        return e.cause
    if e.scan is not None:
        return f"{e.cause.text} {e.scan.raw_code}（{cn_time(e.scan.time, seconds=True)}）"
    return e.cause.text


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
        scoped(request).uow(), request.match_info["id"], actor=ctx.actor, now=ctx.now
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
            await dispatch_service.request_booking(
                scoped(request).uow(), dispatch_id, actor=ctx.actor, now=ctx.now
            )
            done += 1
        except Exception as e:
            if database_unavailable(e):
                raise  # 503, not a refusal with the driver's message in it
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
    d = await dispatch_service.cancel(
        scoped(request).uow(), request.match_info["id"], actor=ctx.actor, now=ctx.now
    )
    wake(request)
    text = "已取消" if d.status is Status.CANCELLED else "已向邮政申请撤单，完成后状态变为已取消"
    return ctx.redirect(f"/console/dispatches/{d.id}", f"{d.case_no} {text}")


# ---- labels and manifests -----------------------------------------------------------------------


async def hall(request: web.Request) -> tuple[dict[str, Hall], str]:
    """Every hall's origin by code (a label prints its dispatch's own hall as sender), the public URL."""
    settings = request.app[SETTINGS]
    public_url = settings.public_url or f"{request.scheme}://{request.host}"
    async with scoped(request).uow(read_only=True) as uow:
        return await halls.origins(uow), public_url


def _labels_pdf(dispatches, *, size: str, origin: Mapping[str, Hall], public_url: str, points=None) -> bytes:
    return render_labels(dispatches, size, origin=origin, public_url=public_url, points=points)


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
    origin, public_url = await hall(request)
    render = partial(
        _labels_pdf, size=_size(request.query.get("size", "100x150")), origin=origin, public_url=public_url
    )
    content = await printing.print_label(
        scoped(request).uow, request.match_info["id"], render, actor=ctx.actor, now=ctx.now
    )
    return pdf(content, f"label-{request.match_info['id'][:8]}.pdf")


@routes.post("/console/labels")
@page(*DESK)
async def labels_batch(request: web.Request, ctx: Ctx) -> web.Response:
    ids = ids_of(ctx)
    origin, public_url = await hall(request)
    size = _size(str(ctx.form.get("size", "100x150")))
    render = partial(_labels_pdf, size=size, origin=origin, public_url=public_url)
    try:
        content = await printing.print_labels(scoped(request).uow, ids, render, actor=ctx.actor, now=ctx.now)
    except printing.NotBooked as e:
        raise InvalidInput(
            [("ids", "以下寄递单还没有运单号或已取消，不能打印：" + "、".join(d.case_no for d in e.refused))]
        ) from None
    return pdf(content, f"labels-{len(ids)}.pdf", **{"X-Count": str(len(ids))})


@routes.get("/console/handover")
@page(*DESK)
async def handover_page(request: web.Request, ctx: Ctx) -> web.Response:
    async with scoped(request).uow(read_only=True) as uow:
        ready, total = await uow.console.search_dispatches(
            statuses=["label_printed", "booked"], limit=printing.MAX_BATCH
        )
    ready.sort(key=lambda d: (d.status is not Status.LABEL_PRINTED, d.address.town, d.case_no))
    rows = [
        {
            "d": d,
            "checked": d.status is Status.LABEL_PRINTED,
            "cells": [d.waybill_no, d.recipient.name, d.address.town or d.address.county, d.matter_name],
        }
        for d in ready
    ]
    context = {"rows": rows, "total": total}
    return ctx.render("handover.html", "交接揽收", context, active="handover")


@routes.post("/console/manifests")
@page(*DESK)
async def manifest(request: web.Request, ctx: Ctx) -> web.Response:
    ids, courier = ids_of(ctx), str(ctx.form.get("courier", "")).strip()[:40]
    if problem := text_problem(courier):
        raise InvalidInput([("courier", problem)])
    origin, _ = await hall(request)
    now = ctx.now

    def render(found, points=None) -> bytes:  # one hall's dispatches (print_manifest refuses several)
        sender = origin[found[0].hall]
        return render_manifest(found, origin=sender, courier=courier, at=now.astimezone(CHINA), points=points)

    printed = await printing.print_manifest(
        scoped(request).uow, ids, render, courier=courier, actor=ctx.actor, now=now
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
        scoped(request).uow, ids, courier=courier, manifest_id=manifest_id, actor=ctx.actor, now=ctx.now
    )
    text = f"已确认交接 {len(result.handed_over)} 件给揽收员 {courier}"
    if result.skipped:
        text += f"；{len(result.skipped)} 件此前已交接，未重复记录"
    return ctx.redirect("/console/handover", text)
