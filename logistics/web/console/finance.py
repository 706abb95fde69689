"""Finance at the console: upload the month's EMS statement, findings with filters, the department
table, downloads, closing the month. Thin pages over logistics.service.reconcile_runs."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from aiohttp import web

from ... import reconcile_engine
from ...domain.errors import InvalidInput
from ...domain.hall import DEFAULT_HALL, check_hall_code
from ...service import halls, reconcile_runs
from ...service.console_text import CHINA, yuan
from ...service.reconcile_runs import Upload
from .. import limits
from ..auth import scoped
from ..downloads import send_report
from ..keys import SETTINGS
from . import charts
from .guard import Ctx, page, wants_json

routes = web.RouteTableDef()
FINANCE = ("finance",)
CODE_TEXT = {
    "ok": "一致",
    "overcharged": "多收",
    "undercharged": "少收",
    "weight_mismatch": "计费重量不符",
    "duplicate": "重复计费",
    "unknown_waybill": "非我方邮件",
    "not_billed": "已交寄未计费",
    "cancelled_but_billed": "已取消仍计费",
    "out_of_period": "不属本期",
}
PAGE_SIZE = 100


def one_hall(request: web.Request):
    """Statements, runs and months are one hall's: the user's, or for staff over every hall the one
    named by ?hall= (default: the default hall)."""
    deps = scoped(request)
    if deps.hall is not None:
        return deps
    return deps.for_hall(check_hall_code(request.query.get("hall") or DEFAULT_HALL, "hall"))


def _reading(ctx: Ctx):
    return one_hall(ctx.request).uow(read_only=True)


def _month(now) -> str:
    return now.astimezone(CHINA).strftime("%Y-%m")


@routes.get("/console/finance")
@page(*FINANCE)
async def finance_home(request: web.Request, ctx: Ctx) -> web.Response:
    period = request.query.get("period") or _month(ctx.now)
    reconcile_runs.check_period(period)
    status = await reconcile_runs.period_status(_reading(ctx), period)
    runs = await reconcile_runs.list_runs(_reading(ctx))
    rows = [
        {
            "run": r,
            "cells": [
                r["filename"],
                r["totals"]["lines"],
                yuan(r["totals"]["billed_fen"]),
                yuan(r["totals"]["expected_fen"]),
            ],
            "difference": _money(r["totals"]["difference_fen"]),
            "after": [r.get("disputes", 0), r["created_by"], _minute(r["created_at"])],
        }
        for r in runs
    ]
    context = {"period": period, "closed": _closed(status), "rows": rows}
    return ctx.render("finance.html", "对账结算", context, active="finance")


def _minute(iso: str) -> str:
    return iso[:16].replace("T", " ")


def _closed(status: dict) -> dict | None:
    """Who closed the period and when (None while it is open)."""
    if status["status"] != "closed":
        return None
    return {"run_id": status.get("run_id"), "by": status["closed_by"], "at": _minute(status["closed_at"])}


def _money(fen: int) -> dict:
    """An amount and its tone (overcharged: neg, undercharged: pos)."""
    return {"text": yuan(fen), "tone": _tone(fen)}


def _tone(fen: int) -> str:
    return "neg" if fen > 0 else "pos" if fen < 0 else ""


@routes.post("/console/finance/upload")
@page(*FINANCE, body_limit=limits.STATEMENT_UPLOAD)
async def upload(request: web.Request, ctx: Ctx) -> web.Response:
    file = ctx.form.get("file")
    if not hasattr(file, "file"):
        raise InvalidInput([("file", "请选择对账单文件（CSV 或 XLSX）")])
    with file.file:  # spooled to a temporary file by the form reader
        content = file.file.read()
    if not content:
        raise InvalidInput([("file", "对账单文件是空的")])
    data = Upload(str(ctx.form.get("period", "")).strip(), file.filename or "statement", content, None)
    settings, deps = request.app[SETTINGS], one_hall(request)
    async with deps.uow(read_only=True) as uow:
        origin = await halls.existing(uow, deps.hall)  # zones judged from the hall's own origin
    run, created = await reconcile_runs.submit(
        deps.uow,
        data,
        reconcile_engine.bind(origin, reconcile_engine.limits_of(settings)),
        actor=ctx.user.name,
        now=ctx.now,
    )
    target = f"/console/finance/runs/{run['id']}"
    message = "对账完成" if created else "该对账单此前已上传，显示原对账结果"
    if wants_json(request):
        response = web.json_response({"id": run["id"], "created": created, "location": target})
        from urllib.parse import quote

        from .guard import FLASH, set_cookie

        set_cookie(request, response, FLASH, quote(f"ok:{message}"), max_age=60)
        return response
    return ctx.redirect(target, message)


@routes.get("/console/finance/runs/{id}")
@page(*FINANCE)
async def run_page(request: web.Request, ctx: Ctx) -> web.Response:
    by_id = scoped(request).uow  # a run by id: any of the user's halls'
    run = await reconcile_runs.get_run(by_id(read_only=True), request.match_info["id"])
    index = reconcile_engine.cached_index(run["id"])
    if index is None:
        text = await reconcile_runs.result_json(by_id(read_only=True), run["id"])
        index = await asyncio.to_thread(reconcile_engine.FindingsIndex, text)
        reconcile_engine.keep_index(run["id"], index)
    own = scoped(request).for_hall(run["hall"]).uow  # the run's hall's month
    status = await reconcile_runs.period_status(own(read_only=True), run["period"])
    q = request.query
    chosen = {
        "code": q.get("code", ""),
        "department": q.get("department", ""),
        "waybill": q.get("waybill", ""),
    }
    try:
        number = int(q.get("page", "1"))
    except ValueError:
        number = 1
    shown, total, number, pages = index.page(**chosen, page=number, size=PAGE_SIZE)
    return ctx.render(
        "finance_run.html",
        f"{run['period']} 对账结果",
        _run_body(run, index.names, status, chosen, (shown, total, number, pages)),
        active="finance",
    )


def _department(code: str, names: dict[str, str]) -> str:
    """安福县市场监督管理局（SCJGJ）, or the code alone when no name is known."""
    name = names.get(code or "", "")
    return f"{name}（{code}）" if name else (code or "—")


def _run_body(run, names: dict[str, str], status, chosen: dict, found: tuple) -> dict:
    shown, total, number, pages = found
    t = run["totals"]
    codes = t.get("codes", {})
    chart = charts.bars(
        [(CODE_TEXT.get(k, k), v) for k, v in sorted(codes.items(), key=lambda kv: -kv[1]) if v]
    )
    departments = run.get("departments", [])
    dept_rows = [
        [_department(d["department_code"], names), d["parcels"], yuan(d["amount_fen"])] for d in departments
    ]
    rows = [
        {
            "code": f["code"],
            "before": [f["line_no"] or "—", f["waybill_no"]],
            "code_text": CODE_TEXT.get(f["code"], f["code"]),
            "cells": [
                _department(f["department_code"], names),
                yuan(f["billed_fen"]),
                yuan(f["expected_fen"]),
            ],
            "difference": _money(f["difference_fen"]),
            "detail": f["detail"],
        }
        for f in shown
    ]
    more = f"共 {total} 条" + (f"，第 {number}/{pages} 页" if pages > 1 else "")
    facts = [
        ("对账单", run["filename"]),
        ("上传人", run["created_by"]),
        ("上传时间", _minute(run["created_at"])),
        ("文件 SHA-256", run["sha256"][:16] + "…"),
    ]
    base = f"/console/finance/runs/{run['id']}"
    filters = {k: v for k, v in chosen.items() if v}
    return {
        "run": run,
        "totals": t,
        "difference": yuan(t["difference_fen"]),
        "disputes": run.get("disputes", 0),
        "facts": facts,
        "downloads": (("xlsx", "Excel"), ("pdf", "PDF"), ("csv", "CSV"), ("json", "JSON")),
        "closed": _closed(status),
        "chart": chart,
        "dept_rows": dept_rows,
        "dept_total": (
            sum(d["parcels"] for d in departments),
            yuan(sum(d["amount_fen"] for d in departments)),
        ),
        "code_options": [(k, v, codes.get(k, 0)) for k, v in CODE_TEXT.items()],
        "depts": [(d, _department(d, names)) for d in sorted(names)],
        "code": chosen["code"],
        "dept": chosen["department"],
        "waybill": chosen["waybill"],
        "rows": rows,
        "more": more,
        "pager": _pager(base, filters, number, pages),
    }


def _pager(base: str, filters: dict, number: int, pages: int) -> dict | None:
    """Links to the first, previous, next and last page, keeping the filters."""
    if pages <= 1:
        return None

    def link(n: int) -> str:
        return f"{base}?{urlencode({**filters, 'page': n})}#findings"

    return {
        "number": number,
        "pages": pages,
        "first": link(1) if number > 1 else None,
        "prev": link(number - 1) if number > 1 else None,
        "next": link(number + 1) if number < pages else None,
        "last": link(pages) if number < pages else None,
    }


@routes.get(r"/console/finance/runs/{id}/report.{fmt:json|csv|xlsx|pdf}")
@page(*FINANCE)
async def download(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    run_id, fmt = request.match_info["id"], request.match_info["fmt"]
    by_id = scoped(request).uow  # a run by id: any of the user's halls'
    run = await reconcile_runs.get_run(by_id(read_only=True), run_id)
    text = await reconcile_runs.result_json(by_id(read_only=True), run_id)
    name = f"reconciliation-{run['period']}-{run_id[:8]}.{fmt}"
    return await send_report(request, text, fmt, name, _PRIVATE)


@routes.get("/console/finance/runs/{id}/disputes.xlsx")
@page(*FINANCE)
async def download_disputes(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    run_id = request.match_info["id"]
    by_id = scoped(request).uow  # a run by id: any of the user's halls'
    run = await reconcile_runs.get_run(by_id(read_only=True), run_id)
    text = await reconcile_runs.result_json(by_id(read_only=True), run_id)
    name = f"disputes-{run['period']}-{run_id[:8]}.xlsx"
    return await send_report(request, text, reconcile_engine.DISPUTES_FORMAT, name, _PRIVATE)


_PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


@routes.post("/console/finance/periods/{period}/close")
@page(*FINANCE)
async def close(request: web.Request, ctx: Ctx) -> web.Response:
    period, run_id = request.match_info["period"], str(ctx.form.get("run_id", ""))
    await reconcile_runs.close_period(one_hall(request).uow, period, run_id, actor=ctx.user.name, now=ctx.now)
    return ctx.redirect(f"/console/finance/runs/{run_id}", f"{period} 已结账，对账结果已冻结")
