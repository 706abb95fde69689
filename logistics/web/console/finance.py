"""Finance at the console: upload the month's EMS statement, findings with filters, the department
table, downloads, closing the month. Thin pages over logistics.service.reconcile_runs."""

from __future__ import annotations

import json

from aiohttp import web

from ... import reconcile_engine
from ...domain.errors import InvalidInput
from ...service import reconcile_runs
from ...service.console_text import CHINA, yuan
from ...service.reconcile_runs import Upload
from .. import limits
from ..keys import DEPS, SETTINGS
from .guard import Ctx, page, wants_json
from .html import Html, card, csrf_field, dl, h, hbar_chart, stat, table

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
SHOWN = 500


def _reading(ctx: Ctx):
    return ctx.request.app[DEPS].uow(read_only=True)


def _month(now) -> str:
    return now.astimezone(CHINA).strftime("%Y-%m")


@routes.get("/console/finance")
@page(*FINANCE)
async def finance_home(request: web.Request, ctx: Ctx) -> web.Response:
    period = request.query.get("period") or _month(ctx.now)
    reconcile_runs.check_period(period)
    status = await reconcile_runs.period_status(_reading(ctx), period)
    runs = await reconcile_runs.list_runs(_reading(ctx))
    closed = status["status"] == "closed"
    upload = Html(
        f'<form id="upload" method="post" action="/console/finance/upload" enctype="multipart/form-data" '
        f'class="formgrid">{csrf_field(ctx.csrf)}'
        '<label for="period">账期</label><input id="period"'
        f' name="period" type="month" value="{h(period)}" required>'
        '<label for="file">EMS 月结对账单</label><input id="file" name="file" type="file" required '
        'accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet">'
        '<span></span><span class="hint">CSV（UTF-8 或'
        " GBK）或 XLSX，可带标题行与合计行；同一文件重复上传不会重复对账。</span>"
        '<span></span><div><button class="btn primary" type="submit" id="upload-btn">上传并对账</button>'
        '<div class="progressbox hidden" id="upload-progress">'
        '<div class="bar"><span id="upload-bar"></span></div>'
        '<span id="upload-text" role="status" aria-live="polite"></span></div></div></form>'
    )
    state = (
        Html(
            f'<span class="badge b-ok">已结账</span> 由 {h(status["closed_by"])} 于 '
            f"{h(status['closed_at'][:16].replace('T', ' '))} 结账"
        )
        if closed
        else Html('<span class="badge b-todo">未结账</span>')
    )
    rows = [
        [
            Html(f'<a href="/console/finance/runs/{h(r["id"])}">{h(r["period"])}</a>'),
            r["filename"],
            r["totals"]["lines"],
            yuan(r["totals"]["billed_fen"]),
            yuan(r["totals"]["expected_fen"]),
            _money(r["totals"]["difference_fen"]),
            r.get("disputes", 0),
            r["created_by"],
            r["created_at"][:16].replace("T", " "),
            Html(f'<a class="btn small" href="/console/finance/runs/{h(r["id"])}">查看</a>'),
        ]
        for r in runs
    ]
    heads = ["账期", "对账单文件", "行数", "账单金额", "应收金额", "差额", "争议", "上传人", "上传时间", ""]
    body = card(
        f"{period} 账期",
        Html(f"<p>状态：{state}</p>")
        + (Html('<p class="muted">本月已结账，不能再导入对账单。</p>') if closed else upload),
    ) + card("对账记录", table(heads, rows, empty="还没有对账记录", cls="list"))
    return ctx.render("对账结算", body, active="finance")


def _money(fen: int) -> Html:
    return Html(f'<span class="{_tone(fen)}">{h(yuan(fen))}</span>')


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
    settings = request.app[SETTINGS]
    run, created = await reconcile_runs.submit(
        request.app[DEPS].uow,
        data,
        reconcile_engine.bind(settings.origin.model_dump(), reconcile_engine.limits_of(settings)),
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
    run = await reconcile_runs.get_run(_reading(ctx), request.match_info["id"])
    result = json.loads(await reconcile_runs.result_json(_reading(ctx), run["id"]))
    status = await reconcile_runs.period_status(_reading(ctx), run["period"])
    code, dept = request.query.get("code", ""), request.query.get("department", "")
    return ctx.render(
        f"{run['period']} 对账结果", _run_body(ctx, run, result, status, code, dept), active="finance"
    )


def _run_body(ctx: Ctx, run, result, status, code: str, dept: str) -> Html:
    t = result["totals"]
    base = f"/console/finance/runs/{run['id']}"
    summary = Html(
        '<div class="stats">'
        + stat("账单行数", t["lines"])
        + stat("账单金额", yuan(t["billed_fen"]))
        + stat("按合同应收", yuan(t["expected_fen"]))
        + stat("差额（多收为正）", yuan(t["difference_fen"]), tone="bad" if t["difference_fen"] > 0 else "")
        + stat("需争议条目", run.get("disputes", 0), tone="bad" if run.get("disputes") else "")
        + "</div>"
    )
    codes = t.get("codes", {})
    chart = hbar_chart(
        [(CODE_TEXT.get(k, k), v) for k, v in sorted(codes.items(), key=lambda kv: -kv[1]) if v], unit="条"
    )
    downloads = Html(
        '<div class="actions">'
        + "".join(
            f'<a class="btn" href="{base}/report.{fmt}" download>下载 {label}</a>'
            for fmt, label in (("xlsx", "Excel"), ("pdf", "PDF"), ("csv", "CSV"), ("json", "JSON"))
        )
        + "</div>"
    )
    closed = status["status"] == "closed"
    if closed:
        close = Html(
            f'<p><span class="badge b-ok">已结账</span> 冻结的对账结果：{h(status["run_id"])}'
            f"（{h(status['closed_by'])}，{h(status['closed_at'][:16].replace('T', ' '))}）</p>"
        )
    else:
        close = Html(
            f'<form method="post" action="/console/finance/periods/{h(run["period"])}/close" class="inline" '
            f'data-confirm="结账后 {h(run["period"])} 的对账结果将被冻结，不能再导入对账单。确定结账吗？">'
            f'{csrf_field(ctx.csrf)}<input type="hidden" name="run_id" value="{h(run["id"])}">'
            '<button class="btn primary" type="submit"'
            f' id="close-month">以此结果结账 {h(run["period"])}</button></form>'
        )
    dept_rows = [[d["department_code"], d["parcels"], yuan(d["amount_fen"])] for d in result["departments"]]
    dept_rows.append(
        [
            Html("<strong>合计</strong>"),
            sum(d["parcels"] for d in result["departments"]),
            Html(f"<strong>{h(yuan(sum(d['amount_fen'] for d in result['departments'])))}</strong>"),
        ]
    )
    findings = [
        f
        for f in result["findings"]
        if (not code or f["code"] == code) and (not dept or f["department_code"] == dept)
    ]
    options = "".join(
        f'<option value="{k}"{" selected" if k == code else ""}>{h(v)}（{codes.get(k, 0)}）</option>'
        for k, v in CODE_TEXT.items()
    )
    depts = sorted({f["department_code"] for f in result["findings"] if f["department_code"]})
    dept_opts = "".join(
        f'<option value="{h(d)}"{" selected" if d == dept else ""}>{h(d)}</option>' for d in depts
    )
    filters = Html(
        '<form method="get" class="search"><select name="code"'
        ' aria-label="结论"><option value="">全部结论</option>'
        f'{options}</select><select name="department"'
        f' aria-label="部门"><option value="">全部部门</option>{dept_opts}'
        '</select><button class="btn" type="submit">筛选</button>'
        + (f'<a class="btn link" href="{base}">清除</a>' if code or dept else "")
        + "</form>"
    )
    rows = [
        [
            f["line_no"] or "—",
            f["waybill_no"],
            Html(f'<span class="tag c-{h(f["code"])}">{h(CODE_TEXT.get(f["code"], f["code"]))}</span>'),
            f["department_code"] or "—",
            yuan(f["billed_fen"]),
            yuan(f["expected_fen"]),
            Html(f'<span class="{_tone(f["difference_fen"])}">{h(yuan(f["difference_fen"]))}</span>'),
            f["detail"],
        ]
        for f in findings[:SHOWN]
    ]
    heads = ["行号", "邮件号", "结论", "部门", "账单金额", "应收", "差额", "说明"]
    more = f"共 {len(findings)} 条" + (
        f"，显示前 {SHOWN} 条（完整清单请下载）" if len(findings) > SHOWN else ""
    )
    facts = dl(
        [
            ("对账单", run["filename"]),
            ("上传人", run["created_by"]),
            ("上传时间", run["created_at"][:16].replace("T", " ")),
            ("文件 SHA-256", run["sha256"][:16] + "…"),
        ]
    )
    return Html(
        '<p><a href="/console/finance">← 对账结算</a></p>'
        + card("汇总", summary + facts + downloads + close)
        + '<div class="grid2">'
        + card("结论分布", chart)
        + card("部门费用分摊", table(["部门", "件数", "金额"], dept_rows, empty="本期无分摊"))
        + "</div>"
        + card(
            "对账明细",
            filters + table(heads, rows, empty="没有符合条件的条目", cls="list"),
            extra=more,
            id="findings",
        )
    )


@routes.get(r"/console/finance/runs/{id}/report.{fmt:json|csv|xlsx|pdf}")
@page(*FINANCE)
async def download(request: web.Request, ctx: Ctx) -> web.Response:
    run_id, fmt = request.match_info["id"], request.match_info["fmt"]
    run = await reconcile_runs.get_run(_reading(ctx), run_id)
    content = await reconcile_runs.report(_reading(ctx), run_id, fmt, reconcile_engine.render)
    name = f"reconciliation-{run['period']}-{run_id[:8]}.{fmt}"
    return web.Response(
        body=content,
        headers={
            "Content-Type": reconcile_engine.MEDIA_TYPES[fmt],
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@routes.post("/console/finance/periods/{period}/close")
@page(*FINANCE)
async def close(request: web.Request, ctx: Ctx) -> web.Response:
    period, run_id = request.match_info["period"], str(ctx.form.get("run_id", ""))
    await reconcile_runs.close_period(request.app[DEPS].uow, period, run_id, actor=ctx.user.name, now=ctx.now)
    return ctx.redirect(f"/console/finance/runs/{run_id}", f"{period} 已结账，对账结果已冻结")
