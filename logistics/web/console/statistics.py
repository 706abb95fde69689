"""Statistics (统计分析) and supervision (智能监管) at the console: a month or range of months, charts,
tables and XLSX exports. Thin pages over logistics.service.statistics and .supervision; every role may
read them (the figures change nothing)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from ...domain.service_limits import ServiceLimits
from ...service import statistics, supervision
from ...service.console_text import STATUS_SHORT, cn_time, cn_today, yuan
from ...service.statistics import MonthRange, Times
from ..keys import SETTINGS
from . import charts, stat_charts
from .guard import Ctx, page
from .statistics_xlsx import stream, write_breaches, write_statistics
from .templating import url

routes = web.RouteTableDef()
READERS = ("dispatcher", "finance")


def _chosen(ctx: Ctx) -> MonthRange:
    q = ctx.request.query
    return statistics.month_range(q.get("from") or None, q.get("to") or None, today=cn_today(ctx.now))


def _limits(ctx: Ctx) -> ServiceLimits:
    return ctx.request.app[SETTINGS].limits()


async def _statistics(ctx: Ctx, chosen: MonthRange) -> statistics.Statistics:
    return await statistics.build(ctx.deps.uow(read_only=True), chosen, limits=_limits(ctx))


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} 天"


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _times(t: Times) -> list:
    return [t.count, _days(t.median_days), _days(t.p90_days), _rate(t.on_time_rate)]


def _named(counts, *, name: bool = True) -> list[tuple[str, int]]:
    return [((c.name if name else c.key) or "（未填）", c.count) for c in counts[:20]]


@routes.get("/console/statistics")
@page(*READERS)
async def statistics_page(request: web.Request, ctx: Ctx) -> web.Response:
    chosen = _chosen(ctx)
    s = await _statistics(ctx, chosen)
    costs = {c.code: c.fen for c in s.costs}
    reconciled = "、".join(s.reconciled_months)
    cost_hint = f"按 {reconciled} 对账单" if reconciled else "所选月份尚未对账"
    if reconciled and s.unreconciled_months:
        cost_hint += f"；{'、'.join(s.unreconciled_months)} 未对账"
    context = {
        "s": s,
        "max_months": statistics.MAX_MONTHS,
        "xlsx_href": url("/console/statistics.xlsx", **{"from": chosen.first, "to": chosen.last}),
        "delivery_median": _days(s.delivery.median_days),
        "delivery_p90": _days(s.delivery.p90_days),
        "handover_median": _days(s.handover.median_days),
        "handover_rate": _rate(s.handover.on_time_rate),
        "ontime": charts.ring(s.delivery.on_time_rate),
        "cost_hint": cost_hint,
        "by_month": stat_charts.months([(c.key, c.count) for c in s.by_month]),
        "by_town": stat_charts.bars(_named(s.by_town), label_w=120),
        "by_point": stat_charts.bars(_named(s.by_village_point), label_w=120),
        "by_department": stat_charts.bars(_named(s.by_department)),
        "by_matter": stat_charts.bars(_named(s.by_matter)),
        "costs": stat_charts.bars([(c.name, c.fen) for c in s.costs[:20]]),
        "departments": [
            [r.name, r.code, *_times(r.handover), *_times(r.delivery), yuan(costs.get(r.code))]
            for r in s.departments
        ],
        "matters": [[r.name, r.code, *_times(r.handover), *_times(r.delivery)] for r in s.matters],
    }
    return ctx.render("statistics.html", "统计分析", context, active="statistics")


@routes.get("/console/statistics.xlsx")
@page(*READERS)
async def statistics_xlsx(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    chosen = _chosen(ctx)
    s = await _statistics(ctx, chosen)
    name = f"statistics-{chosen.first}" + ("" if chosen.first == chosen.last else f"_{chosen.last}")
    return await stream(request, f"{name}.xlsx", lambda path: write_statistics(path, s))


# ---- supervision ---------------------------------------------------------------------------------


def _filters(ctx: Ctx) -> supervision.Filters:
    q = ctx.request.query
    return supervision.Filters(
        stage=q.get("stage", ""),
        department=q.get("department", "")[:64],
        matter=q.get("matter", "")[:64],
        open_only=q.get("open") == "1",
    )


def _page_no(ctx: Ctx) -> int:
    raw = ctx.request.query.get("page", "1")
    return int(raw) if raw.isdecimal() and len(raw) < 7 else 1


def _query(chosen: MonthRange, f: supervision.Filters, **more) -> dict:
    return {
        "from": chosen.first, "to": chosen.last, "stage": f.stage, "department": f.department,
        "matter": f.matter, "open": "1" if f.open_only else "", **more,
    }  # fmt: skip


def limits_text(limits: ServiceLimits) -> str:
    d = limits.default
    text = f"默认 办结后 {d.handover.text}内交寄、{d.delivery.text}内送达"
    overrides = len(limits.departments) + len(limits.matters)
    return text + (f"；另有 {overrides} 项部门或事项的专门时限" if overrides else "")


@routes.get("/console/supervision")
@page(*READERS)
async def supervision_page(request: web.Request, ctx: Ctx) -> web.Response:
    chosen, f = _chosen(ctx), _filters(ctx)
    limits, deps = _limits(ctx), ctx.deps
    found = await supervision.find(
        deps.uow(read_only=True), start=chosen.start, end=chosen.end, limits=limits, now=ctx.now,
        filters=f, page=_page_no(ctx),
    )  # fmt: skip
    async with deps.uow(read_only=True) as uow:
        departments, matters = await uow.statistics.names()
    rows = [
        {
            "id": b.item.dispatch_id,
            "case_no": b.item.case_no,
            "stage": supervision.STAGE_TEXT[b.stage],
            "status": b.item.status,
            "cells": [
                b.item.department_name or b.item.department_code,
                b.item.matter_name or b.item.matter_code,
                cn_time(b.item.completed_at),
                cn_time(b.item.done_at) if b.item.done_at else "仍未完成",
                b.limit.text,
                supervision.deadline_text(b.deadline),
                _overdue(b.over_hours),
            ],
        }
        for b in found.items
    ]
    first = (found.page - 1) * found.per_page
    context = {
        "first": chosen.first,
        "last": chosen.last,
        "range_text": chosen.text,
        "f": f,
        "b": found,
        "rows": rows,
        "desk": ctx.user.role in ("dispatcher", "admin"),
        "stages": list(supervision.STAGE_TEXT.items()),
        "departments": sorted(departments.items(), key=lambda kv: kv[1] or kv[0]),
        "matters": sorted(matters.items(), key=lambda kv: kv[1] or kv[0]),
        "limits_text": limits_text(limits),
        "shown": f"第 {first + 1}–{first + len(rows)} 件，共 {found.total} 件" if rows else "",
        "xlsx_href": url("/console/supervision.xlsx", **_query(chosen, f)),
        "prev_href": url("/console/supervision", **_query(chosen, f, page=found.page - 1))
        if found.page > 1
        else "",
        "next_href": url("/console/supervision", **_query(chosen, f, page=found.page + 1))
        if found.page < found.pages
        else "",
    }
    return ctx.render("supervision.html", "智能监管", context, active="supervision")


def _overdue(hours: float) -> str:
    if hours < 24:
        return f"{hours:.1f} 小时"
    return f"{hours / 24:.1f} 天"


DASHBOARD_WORST = 5


async def dashboard_breaches(deps, settings, now) -> dict:
    """For the dashboard: breaches of dispatches completed last month and this month, and the worst few
    (the figures of the supervision page it links to)."""
    today = cn_today(now)
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    chosen = statistics.month_range(last_month, f"{today:%Y-%m}", today=today)
    href = url("/console/supervision", **{"from": chosen.first, "to": chosen.last})
    if deps.hall is None and await _many_halls(deps):
        # the whole province: seconds at a million dispatches, so on the supervision page only
        return {"total": None, "open": None, "worst": [], "href": href}
    found = await supervision.find(
        deps.uow(read_only=True), start=chosen.start, end=chosen.end, limits=settings.limits(), now=now,
        per_page=DASHBOARD_WORST,
    )  # fmt: skip
    worst = [
        {"id": b.item.dispatch_id, "case_no": b.item.case_no, "stage": supervision.STAGE_TEXT[b.stage],
         "department": b.item.department_name or b.item.department_code, "over": _overdue(b.over_hours),
         "open": b.open}
        for b in found.items
    ]  # fmt: skip
    return {"total": found.total, "open": found.open, "worst": worst, "href": href}


async def _many_halls(deps) -> bool:
    async with deps.uow(read_only=True) as uow:
        return len(await uow.halls.list()) > 1


@routes.get("/console/supervision.xlsx")
@page(*READERS)
async def supervision_xlsx(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    chosen, f = _chosen(ctx), _filters(ctx)
    found = await supervision.find(
        ctx.deps.uow(read_only=True), start=chosen.start, end=chosen.end, limits=_limits(ctx),
        now=ctx.now, filters=f, per_page=10**9,
    )  # fmt: skip
    items = found.items
    name = f"breaches-{chosen.first}" + ("" if chosen.first == chosen.last else f"_{chosen.last}")
    return await stream(
        request, f"{name}.xlsx", lambda path: write_breaches(path, items, lambda s: STATUS_SHORT.get(s, s))
    )
