"""Finance (staff, role finance or admin): reconciliation runs and closing a month.

Thin handlers over logistics.service.reconcile_runs; the engine is bound in logistics.reconcile_engine."""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from adapters.common.bodies import read_body, refuse_declared_over, too_large

from ... import reconcile_engine
from ...domain.errors import InvalidInput
from ...domain.hall import DEFAULT_HALL, check_hall_code
from ...domain.validation import text_problem
from ...service import halls, reconcile_runs
from ...service.reconcile_runs import Upload
from .. import limits
from ..auth import scoped, staff
from ..downloads import send_report
from ..keys import CLOCK, SETTINGS
from .documented import BINARY, PERIOD, Media, Param, documented
from .json_body import json_object
from .responses import PeriodOut, ReconciliationOut, RunCreatedOut, RunListOut
from .schemas import CloseIn

routes = web.RouteTableDef()
FINANCE_ROLES = ("finance",)


@routes.post("/api/v1/reconciliations")
@documented(
    summary_zh="导入月度对账单并对账",
    summary_en="Reconcile a monthly EMS statement",
    security="staff",
    tag="finance",
    roles=FINANCE_ROLES,
    request=Media(
        {
            "multipart/form-data": {
                "type": "object",
                "required": ["file", "period"],
                "properties": {
                    "file": BINARY,
                    "period": PERIOD,
                    "tariff": {"type": "string", "description": "资费 TOML"},
                },
            },
            "application/octet-stream": BINARY,
        }
    ),
    params=(
        Param("period", "query", PERIOD, "with a raw body"),
        Param("filename", "query", {"type": "string"}),
    ),
    responses={201: RunCreatedOut, 200: RunCreatedOut, 409: None, 422: None},
    description="multipart/form-data, or the raw CSV/XLSX with ?period=&filename=. 200: the same file, "
    "tariff and month were reconciled before; 409: the month is closed.",
)
async def create_run(request: web.Request) -> web.Response:
    user = await staff(request, *FINANCE_ROLES)
    upload = await _read_upload(request)
    run, created = await reconcile_runs.submit(
        _one_hall(request).uow,
        upload,
        await _engine(request),
        actor=user.name,
        now=request.app[CLOCK].now(),
    )
    return web.json_response({**run, "created": created}, status=201 if created else 200)


def _one_hall(request: web.Request):
    """Statements, runs and months are one hall's: the caller's, or for staff over every hall the one
    named by ?hall= (default: the default hall)."""
    deps = scoped(request)
    if deps.hall is not None:
        return deps
    return deps.for_hall(check_hall_code(request.query.get("hall") or DEFAULT_HALL, "hall"))


async def _engine(request: web.Request):
    """The reconciliation judged from the hall's own origin (its tariff zones)."""
    settings, deps = request.app[SETTINGS], _one_hall(request)
    async with deps.uow(read_only=True) as uow:
        origin = await halls.existing(uow, deps.hall)
    return reconcile_engine.bind(origin, reconcile_engine.limits_of(settings))


@routes.get("/api/v1/reconciliations")
@documented(
    summary_zh="对账结果列表",
    summary_en="Reconciliation runs",
    security="staff",
    tag="finance",
    roles=FINANCE_ROLES,
    params=(Param("period", "query", PERIOD),),
    responses={200: RunListOut, 422: None},
)
async def list_runs(request: web.Request) -> web.Response:
    await staff(request, *FINANCE_ROLES)
    runs = await reconcile_runs.list_runs(
        _one_hall(request).uow(read_only=True), request.query.get("period") or None
    )
    return web.json_response({"reconciliations": runs})


@routes.get("/api/v1/reconciliations/{id}")
@documented(
    summary_zh="对账结果",
    summary_en="A reconciliation run's result",
    security="staff",
    tag="finance",
    roles=FINANCE_ROLES,
    responses={200: ReconciliationOut, 404: None},
)
async def get_run(request: web.Request) -> web.Response:
    await staff(request, *FINANCE_ROLES)
    text = await reconcile_runs.result_json(scoped(request).uow(read_only=True), request.match_info["id"])
    return web.Response(text=text, content_type="application/json", charset="utf-8")


@routes.get(r"/api/v1/reconciliations/{id}/report.{fmt:json|csv|xlsx|pdf}")
@documented(
    summary_zh="下载对账报告",
    summary_en="A reconciliation report",
    security="staff",
    tag="finance",
    roles=FINANCE_ROLES,
    params=(Param("fmt", "path", {"enum": ["json", "csv", "xlsx", "pdf"]}),),
    responses={200: Media({m: BINARY for m in reconcile_engine.MEDIA_TYPES.values()}), 404: None},
)
async def download(request: web.Request) -> web.StreamResponse:
    await staff(request, *FINANCE_ROLES)
    run_id, fmt = request.match_info["id"], request.match_info["fmt"]
    by_id = scoped(request).uow  # a run by id: any of the caller's halls'
    run = await reconcile_runs.get_run(by_id(read_only=True), run_id)
    text = await reconcile_runs.result_json(by_id(read_only=True), run_id)
    name = f"reconciliation-{run['period']}-{run_id[:8]}.{fmt}"
    return await send_report(request, text, fmt, name)


@routes.get("/api/v1/reconciliations/{id}/disputes.xlsx")
@documented(
    summary_zh="下载争议清单（发给 EMS）",
    summary_en="The dispute list for EMS",
    security="staff",
    tag="finance",
    roles=FINANCE_ROLES,
    responses={200: Media({reconcile_engine.DISPUTES_MEDIA_TYPE: BINARY}), 404: None},
    description="The disputed lines in the statement's own columns, with our finding, the amount we "
    "accept, the amount claimed back and the evidence per line, and a totals row (XLSX).",
)
async def download_disputes(request: web.Request) -> web.StreamResponse:
    await staff(request, *FINANCE_ROLES)
    run_id = request.match_info["id"]
    by_id = scoped(request).uow  # a run by id: any of the caller's halls'
    run = await reconcile_runs.get_run(by_id(read_only=True), run_id)
    text = await reconcile_runs.result_json(by_id(read_only=True), run_id)
    name = f"disputes-{run['period']}-{run_id[:8]}.xlsx"
    return await send_report(request, text, reconcile_engine.DISPUTES_FORMAT, name)


@routes.post("/api/v1/periods/{period}/close")
@documented(
    summary_zh="结账（冻结对账结果）",
    summary_en="Close a month on a run",
    security="staff",
    tag="finance",
    roles=FINANCE_ROLES,
    request=CloseIn,
    params=(Param("period", "path", PERIOD),),
    responses={200: PeriodOut, 404: None, 409: None, 422: None},
)
async def close_period(request: web.Request) -> web.Response:
    user = await staff(request, *FINANCE_ROLES)
    body = await json_object(request, limits.SMALL_JSON, empty={})
    run_id = body.get("run_id")
    if not isinstance(run_id, str) or not run_id or len(run_id) > 64 or text_problem(run_id):
        raise InvalidInput([("run_id", "请给出要冻结的对账结果编号 run_id")])
    status = await reconcile_runs.close_period(
        _one_hall(request).uow,
        request.match_info["period"],
        run_id,
        actor=user.name,
        now=request.app[CLOCK].now(),
    )
    return web.json_response(status)


@routes.get("/api/v1/periods/{period}")
@documented(
    summary_zh="账期状态",
    summary_en="A month's status",
    security="staff",
    tag="finance",
    roles=FINANCE_ROLES,
    params=(Param("period", "path", PERIOD),),
    responses={200: PeriodOut, 404: None, 422: None},
)
async def period_status(request: web.Request) -> web.Response:
    await staff(request, *FINANCE_ROLES)
    return web.json_response(
        await reconcile_runs.period_status(
            _one_hall(request).uow(read_only=True), request.match_info["period"]
        )
    )


# ---- reading the upload -------------------------------------------------------------------------


async def _read_upload(request: web.Request) -> Upload:
    """multipart/form-data (`file`, `period`, optional `tariff`), or the raw file with ?period=&filename=."""
    if request.content_type == "multipart/form-data":
        fields = await _multipart(request)
    else:
        fields = {"file": (request.query.get("filename") or "statement", await _body(request))}
        fields["period"] = request.query.get("period")
    filename = (fields.get("file") or ("",))[0]
    if filename and text_problem(filename):
        raise InvalidInput([("filename", "文件名不能含有控制字符 (no control characters in the file name)")])
    if not fields.get("period"):
        raise InvalidInput([("period", "请给出账期 period（YYYY-MM）")])
    filename, content = fields.get("file") or ("", b"")
    if not content:
        raise InvalidInput([("file", "请上传对账单文件（CSV 或 XLSX）")])
    return Upload(fields["period"].strip(), filename or "statement", content, fields.get("tariff") or None)


async def _body(request: web.Request) -> bytes:
    return await read_body(request, limits.STATEMENT)


async def _multipart(request: web.Request) -> dict:
    """Each part read whole (BodyPartReader reads to its boundary), the upload at most STATEMENT_UPLOAD."""
    refuse_declared_over(request, limits.STATEMENT_UPLOAD)
    try:
        return await _parts(request)
    except (ValueError, HttpProcessingError):  # no boundary, a broken part header (control characters …)
        raise InvalidInput([("file", "请求体不是有效的 multipart/form-data")]) from None


async def _parts(request: web.Request) -> dict:
    fields: dict = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        _refuse_read_over(request, limits.STATEMENT_UPLOAD)
        if not isinstance(part, BodyPartReader) or part.name not in ("file", "statement", "period", "tariff"):
            continue
        if part.name in ("file", "statement"):
            content = await _read_part(request, part, limits.STATEMENT)
            fields["file"] = (part.filename or "statement", content)
        else:
            fields[part.name] = _text(part.name, await _read_part(request, part, limits.STATEMENT_FIELD))
    _refuse_read_over(request, limits.STATEMENT_UPLOAD)
    return fields


async def _read_part(request: web.Request, part: BodyPartReader, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large(limit, size)
        _refuse_read_over(request, limits.STATEMENT_UPLOAD)
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse_read_over(request: web.Request, limit: int) -> None:
    """Parts skipped or read: the whole multipart body stays within the upload's limit."""
    if (received := request.content.total_bytes) > limit:
        raise too_large(limit, received)


def _text(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput([(name, "必须是 UTF-8 文本")]) from None
