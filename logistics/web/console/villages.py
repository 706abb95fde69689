"""Village proxy points at the console (村级代办点): the hall's registry (add, edit, deactivate, import a
CSV/XLSX list), each point's parcels and its own handover list (PDF), and the clerk's access links
(issued, shown once, revoked)."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

from aiohttp import web

from labels.village_handover import render_village_handover_pdf

from ...domain.china_time import CHINA
from ...domain.errors import InvalidInput
from ...domain.hall import DEFAULT_HALL, HALL_CODE
from ...domain.masking import mask_name, mask_phone
from ...domain.village import ADDRESS_FIELDS, FIELDS
from ...service import village_clerk, village_points
from ...service.console_text import cn_time
from .. import limits
from ..auth import scoped
from ..keys import SETTINGS
from .desk import DESK, pdf
from .guard import Ctx, page, render_page
from .village_file import read_points

routes = web.RouteTableDef()
IMPORT_LIMIT = 4 * limits.MIB


def _hall(request: web.Request, ctx: Ctx) -> str:
    """The hall acted on: the user's own; an admin over every hall names one (default: the default hall)."""
    if ctx.hall is not None:
        return ctx.hall
    given = request.query.get("hall") or str(ctx.form.get("hall", "")) or DEFAULT_HALL
    if not HALL_CODE.fullmatch(given):
        raise InvalidInput([("hall", "大厅编码格式不对")])
    return given


def _at(code: str, hall: str, tail: str = "") -> str:
    return f"/console/villages/{quote(code, safe='')}{tail}?hall={quote(hall, safe='')}"


def _details(ctx: Ctx) -> dict:
    f = ctx.form
    values = {k: str(f.get(k, "")).strip() for k in FIELDS}
    values["address"] = {k: str(f.get(f"address.{k}", "")).strip() for k in ADDRESS_FIELDS}
    return values


@routes.get("/console/villages")
@page(*DESK)
async def registry(request: web.Request, ctx: Ctx) -> web.Response:
    found = await village_points.figures(scoped(request).uow(read_only=True), ctx.hall)
    rows = [
        {
            "f": f,
            "href": _at(f.code, f.point.hall if f.point else ctx.hall or DEFAULT_HALL),
            "cells": [
                f.point.town if f.point else "—",
                f.point.clerk_name if f.point else "—",
                ("启用" if f.point.active else "停用") if f.point else "未登记",
                f.total,
                f.count(village_points.TO_POINT),
                f.count(village_points.AT_POINT),
                f.by_status.get("picked_up", 0),
            ],
        }
        for f in found
    ]
    context = {"rows": rows, "hall": _hall(request, ctx)}
    return ctx.render("villages.html", "村级代办点", context, active="villages")


@routes.post("/console/villages")
@page(*DESK)
async def add(request: web.Request, ctx: Ctx) -> web.Response:
    hall = _hall(request, ctx)
    point = await village_points.register(
        scoped(request).uow(), _details(ctx), hall=hall, actor=ctx.actor, now=ctx.now
    )
    return ctx.redirect(_at(point.code, hall), f"已登记代办点 {point.name}（{point.code}）")


@routes.post("/console/villages/import")
@page(*DESK, body_limit=IMPORT_LIMIT)
async def import_list(request: web.Request, ctx: Ctx) -> web.Response:
    hall = _hall(request, ctx)
    file = ctx.form.get("file")
    if not hasattr(file, "file"):
        raise InvalidInput([("file", "请选择代办点清单文件（CSV 或 XLSX）")])
    with file.file:
        content = file.file.read()
    rows = await asyncio.to_thread(read_points, content, file.filename or "")
    done = await village_points.import_rows(
        scoped(request).uow(), rows, hall=hall, actor=ctx.actor, now=ctx.now
    )
    text = f"导入完成：新增 {len(done.added)} 个，更新 {len(done.changed)} 个代办点"
    return ctx.redirect("/console/villages", text)


@routes.get("/console/villages/{code}")
@page(*DESK)
async def detail(request: web.Request, ctx: Ctx) -> web.Response:
    hall, code = _hall(request, ctx), request.match_info["code"]
    deps = scoped(request)
    point = await village_points.get(deps.uow(read_only=True), hall, code)
    found = await village_points.parcels(deps.uow(read_only=True), hall, code)
    async with deps.uow(read_only=True) as uow:
        accesses = await uow.village_points.accesses(hall, code)
    rows = [
        {"d": d, "cells": [d.waybill_no or "—", mask_name(d.recipient.name), mask_phone(d.recipient.phone),
                           d.matter_name, cn_time(d.updated_at) if d.updated_at else ""]}
        for d in found
    ]  # fmt: skip
    links = [
        {"a": a, "issued": cn_time(a.created_at),
         "used": cn_time(a.last_used_at) if a.last_used_at else "未使用",
         "revoked": cn_time(a.revoked_at) if a.revoked_at else ""}
        for a in accesses
    ]  # fmt: skip
    context = {"p": point, "hall": hall, "rows": rows, "links": links, "at": lambda t: _at(code, hall, t)}
    return ctx.render("village.html", f"村级代办点 {point.name}", context, active="villages")


@routes.post("/console/villages/{code}/edit")
@page(*DESK)
async def edit(request: web.Request, ctx: Ctx) -> web.Response:
    hall, code = _hall(request, ctx), request.match_info["code"]
    values = _details(ctx)
    values.pop("code")
    point = await village_points.change(
        scoped(request).uow(), hall, code, values, actor=ctx.actor, now=ctx.now
    )
    return ctx.redirect(_at(code, hall), f"已保存代办点 {point.name} 的信息")


@routes.post("/console/villages/{code}/active")
@page(*DESK)
async def activate(request: web.Request, ctx: Ctx) -> web.Response:
    hall, code = _hall(request, ctx), request.match_info["code"]
    active = str(ctx.form.get("active", "")) == "1"
    point = await village_points.change(
        scoped(request).uow(), hall, code, {"active": active}, actor=ctx.actor, now=ctx.now
    )
    text = f"代办点 {point.name} 已启用" if point.active else f"代办点 {point.name} 已停用，不再接收新的证照"
    return ctx.redirect(_at(code, hall), text, kind="ok" if point.active else "warn")


@routes.post("/console/villages/{code}/access")
@page(*DESK)
async def issue_access(request: web.Request, ctx: Ctx) -> web.Response:
    """The new link, on this one page only (only its digest is stored)."""
    hall, code = _hall(request, ctx), request.match_info["code"]
    _, token = await village_clerk.issue(scoped(request).uow, hall, code, actor=ctx.actor, now=ctx.now)
    base = request.app[SETTINGS].public_url.rstrip("/") or f"{request.scheme}://{request.host}"
    context = {"link": f"{base}/clerk/enter?token={token}", "token": token, "back": _at(code, hall)}
    return render_page(
        request, "village_access.html", "代办点访问链接", context, user=ctx.user, csrf=ctx.csrf,
        active="villages", flash=("ok", "已生成新的访问链接"),
    )  # fmt: skip


@routes.post("/console/villages/{code}/access/{access_id}/revoke")
@page(*DESK)
async def revoke_access(request: web.Request, ctx: Ctx) -> web.Response:
    hall, code = _hall(request, ctx), request.match_info["code"]
    raw = request.match_info["access_id"]
    access_id = int(raw) if raw.isdigit() and len(raw) < 18 else 0
    await village_clerk.revoke(scoped(request).uow, hall, code, access_id, actor=ctx.actor, now=ctx.now)
    return ctx.redirect(_at(code, hall), "访问链接已收回，立即失效")


@routes.get("/console/villages/{code}/handover.pdf")
@page(*DESK)
async def handover(request: web.Request, ctx: Ctx) -> web.Response:
    """The point's own handover list: its parcels on their way or waiting there, to sign line by line."""
    hall, code = _hall(request, ctx), request.match_info["code"]
    deps = scoped(request)
    point = await village_points.get(deps.uow(read_only=True), hall, code)
    statuses = village_points.TO_POINT | village_points.AT_POINT
    found = await village_points.parcels(deps.uow(read_only=True), hall, code, statuses)
    async with deps.uow(read_only=True) as uow:
        sender = await uow.halls.get(hall)
    name = sender.name if sender else ctx.own_hall.name
    at = ctx.now.astimezone(CHINA)
    content = await asyncio.to_thread(render_village_handover_pdf, found, point=point, hall_name=name, at=at)
    return pdf(content, f"village-{re.sub(r'[^A-Za-z0-9_-]', '_', code)[:64]}-handover.pdf")
