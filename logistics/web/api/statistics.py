"""Statistics (统计分析) and supervision (智能监管) as JSON, for any staff role: the same figures as the
console's pages (logistics.service.statistics, .supervision)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from ...domain.errors import InvalidInput
from ...service import statistics, supervision
from ...service.console_text import CHINA, cn_today
from ...service.statistics import Statistics, Times
from ..auth import scoped, staff
from ..keys import CLOCK, SETTINGS
from .documented import PERIOD, Param, documented
from .responses import Open, When

routes = web.RouteTableDef()
READ_ROLES = ("dispatcher", "finance")
RANGE = (
    Param("from", "query", PERIOD, "开始月份 first month (YYYY-MM; default: this month)"),
    Param("to", "query", PERIOD, "结束月份 last month (YYYY-MM; default: `from`)"),
)
MAX_PER_PAGE = 500


class CountOut(BaseModel):
    key: str = Field(description="月份、乡镇、代办点编码、部门编码或事项编码 the month, town, point or code")
    name: str = Field(description="部门或事项名称 the department's or matter's name (else the key)")
    count: int


class TimesOut(BaseModel):
    count: int = Field(description="completed this stage in the range")
    median_days: float | None = Field(description="中位数（天） median days from completion")
    p90_days: float | None = Field(description="90 分位（天） 90th percentile, days")
    on_time: int = Field(description="within the service limit of its department and matter")
    on_time_rate: float | None


class TimesRowOut(BaseModel):
    code: str
    name: str
    mailed: int
    handover: TimesOut
    delivery: TimesOut
    cost_fen: int | None = None


class CostOut(BaseModel):
    code: str
    name: str
    fen: int


class MailedOut(BaseModel):
    total: int
    by_month: list[CountOut]
    by_town: list[CountOut]
    by_village_point: list[CountOut]
    by_department: list[CountOut]
    by_matter: list[CountOut]


class CostsOut(BaseModel):
    source: str = Field(description="reconciliation: EMS's billed amounts allocated to departments")
    total_fen: int | None = Field(description="None when no month of the range was reconciled")
    by_department: list[CostOut]
    reconciled_months: list[str]
    unreconciled_months: list[str]


class StatisticsOut(Open):
    from_: str = Field(alias="from")
    to: str
    months: list[str]
    mailed: MailedOut
    handover: TimesOut
    delivery: TimesOut
    departments: list[TimesRowOut]
    matters: list[TimesRowOut]
    cost: CostsOut


class BreachOut(BaseModel):
    stage: str = Field(description="handover (办结→交寄) or delivery (办结→送达)")
    dispatch_id: str
    case_no: str
    waybill_no: str | None
    status: str
    department_code: str
    department_name: str
    matter_code: str
    matter_name: str
    completed_at: When
    done_at: When | None = Field(description="None: still not done (open)")
    limit: str = Field(description="e.g. 3d (working days) or 36h")
    deadline: When
    over_hours: float


class BreachesOut(Open):
    total: int
    open: int
    page: int
    pages: int
    per_page: int
    by_department: list[CountOut]
    breaches: list[BreachOut]


def _chosen(request: web.Request):
    q = request.query
    today = cn_today(request.app[CLOCK].now())
    return statistics.month_range(q.get("from") or None, q.get("to") or None, today=today)


def _times(t: Times) -> dict:
    return {"count": t.count, "median_days": t.median_days, "p90_days": t.p90_days, "on_time": t.on_time,
            "on_time_rate": t.on_time_rate}  # fmt: skip


def _counts(counts) -> list[dict]:
    return [{"key": c.key, "name": c.name, "count": c.count} for c in counts]


def statistics_json(s: Statistics) -> dict:
    costs = {c.code: c.fen for c in s.costs}
    mailed = {
        "department": {c.key: c.count for c in s.by_department},
        "matter": {c.key: c.count for c in s.by_matter},
    }

    def rows(found, kind: str) -> list[dict]:
        cost = (lambda code: {"cost_fen": costs.get(code)}) if kind == "department" else (lambda code: {})
        return [
            {"code": r.code, "name": r.name, "mailed": mailed[kind].get(r.code, 0),
             "handover": _times(r.handover), "delivery": _times(r.delivery), **cost(r.code)}
            for r in found
        ]  # fmt: skip

    return {
        "from": s.range.first,
        "to": s.range.last,
        "months": s.range.months,
        "mailed": {
            "total": s.mailed,
            "by_month": _counts(s.by_month),
            "by_town": _counts(s.by_town),
            "by_village_point": _counts(s.by_village_point),
            "by_department": _counts(s.by_department),
            "by_matter": _counts(s.by_matter),
        },
        "handover": _times(s.handover),
        "delivery": _times(s.delivery),
        "departments": rows(s.departments, "department"),
        "matters": rows(s.matters, "matter"),
        "cost": {
            "source": "reconciliation",
            "total_fen": s.cost_fen,
            "by_department": [{"code": c.code, "name": c.name, "fen": c.fen} for c in s.costs],
            "reconciled_months": s.reconciled_months,
            "unreconciled_months": s.unreconciled_months,
        },
    }


@routes.get("/api/v1/statistics")
@documented(
    summary_zh="统计分析",
    summary_en="Statistics over a month or a range of months",
    security="staff",
    tag="statistics",
    roles=READ_ROLES,
    params=RANGE,
    responses={200: StatisticsOut, 422: None},
    description="寄出件数（按月、乡镇、代办点、部门、事项），办结到交寄、送达的中位数与 90 分位，"
    "准时率，部门费用。",
)
async def get_statistics(request: web.Request) -> web.Response:
    await staff(request, *READ_ROLES)
    chosen = _chosen(request)
    limits = request.app[SETTINGS].limits()
    s = await statistics.build(scoped(request).uow(read_only=True), chosen, limits=limits)
    return web.json_response(statistics_json(s))


def _int(query, name: str, default: int, most: int, errors: list) -> int:
    text = query.get(name, str(default))
    if not (text.isascii() and text.isdigit() and len(text) <= 9 and 1 <= int(text) <= most):
        errors.append((name, f"必须是 1 到 {most} 的整数，而不是 {text!r}"))
        return default
    return int(text)


@routes.get("/api/v1/supervision/breaches")
@documented(
    summary_zh="智能监管：超时清单",
    summary_en="Supervision: dispatches over their service limit",
    security="staff",
    tag="statistics",
    roles=READ_ROLES,
    params=(
        *RANGE,
        Param("stage", "query", {"enum": ["handover", "delivery"]}, "环节 the stage (default: both)"),
        Param("department", "query", {"type": "string", "maxLength": 64}, "部门编码 department code"),
        Param("matter", "query", {"type": "string", "maxLength": 64}, "事项编码 matter code"),
        Param("open", "query", {"enum": ["0", "1"]}, "1: only those still not done"),
        Param("page", "query", {"type": "integer", "minimum": 1, "maximum": 999_999_999, "default": 1}),
        Param("per_page", "query", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50}),
    ),
    responses={200: BreachesOut, 422: None},
    description="所选月份内办结、超过服务时限（CERTPOST_SERVICE_LIMITS）才交寄或送达、或至今仍未完成的寄递单，超时最多的在前。",
)
async def list_breaches(request: web.Request) -> web.Response:
    await staff(request, *READ_ROLES)
    q, errors = request.query, []
    page, per_page = _int(q, "page", 1, 999_999_999, errors), _int(q, "per_page", 50, MAX_PER_PAGE, errors)
    if q.get("open", "0") not in ("0", "1"):
        errors.append(("open", f"只能是 0 或 1，而不是 {q.get('open')!r}"))
    for name in ("department", "matter"):
        if len(q.get(name, "")) > 64:
            errors.append((name, "最多 64 个字符"))
    if errors:
        raise InvalidInput(errors)
    chosen = _chosen(request)
    filters = supervision.Filters(
        q.get("stage", ""), q.get("department", ""), q.get("matter", ""), q.get("open") == "1"
    )
    found = await supervision.find(
        scoped(request).uow(read_only=True), start=chosen.start, end=chosen.end,
        limits=request.app[SETTINGS].limits(), now=request.app[CLOCK].now(), filters=filters, page=page,
        per_page=per_page,
    )  # fmt: skip
    return web.json_response(
        {
            "total": found.total,
            "open": found.open,
            "page": found.page,
            "pages": found.pages,
            "per_page": found.per_page,
            "by_department": [{"key": c, "name": n, "count": k} for c, n, k in found.by_department],
            "breaches": [_breach(b) for b in found.items],
        }
    )


def _breach(b: supervision.Breach) -> dict:
    i = b.item
    return {
        "stage": b.stage, "dispatch_id": i.dispatch_id, "case_no": i.case_no, "waybill_no": i.waybill_no,
        "status": i.status, "department_code": i.department_code, "department_name": i.department_name,
        "matter_code": i.matter_code, "matter_name": i.matter_name, "completed_at": _cst(i.completed_at),
        "done_at": _cst(i.done_at) if i.done_at else None, "limit": f"{b.limit.amount}{b.limit.unit}",
        "deadline": _cst(b.deadline), "over_hours": round(b.over_hours, 2),
    }  # fmt: skip


def _cst(at) -> str:
    return at.astimezone(CHINA).isoformat()
