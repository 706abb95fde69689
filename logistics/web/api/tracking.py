"""Tracking over HTTP: the EMS push receiver, the citizen lookup, and the staff's exceptions queue."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import pydantic_core
from aiohttp import web

from adapters.common.bodies import read_body
from adapters.ems.open.push import InvalidPush, parse_trace_push, push_answer

from ...domain.errors import Conflict, NotFound
from ...jobs import queue
from ...ports.repositories.tracking import CitizenLookup
from ...service import citizen, tracking
from ...service.citizen_throttle import CitizenThrottle, buckets_for
from ...service.exceptions_queue import list_exceptions
from .. import limits
from ..auth import scoped, staff
from ..client_address import Network, client_address
from ..keys import CLOCK, DEPS, SETTINGS, WORKERS
from .documented import Media, Param, documented
from .responses import ExceptionsOut, JobRetryOut, MetricsOut, PushAnswer, TrackOut

log = logging.getLogger("certpost.tracking")

routes = web.RouteTableDef()
CITIZEN_THROTTLE = web.AppKey("citizen_throttle", CitizenThrottle)
CITIZEN_LOOKUP = web.AppKey("citizen_lookup", CitizenLookup)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple[Network, ...])
PUSH_PATH = "/api/v1/carriers/ems/push"
NO_STORE = {"Cache-Control": "no-store"}
NOT_FOUND = {"error": "未找到邮件，请核对单号和手机号后4位"}
TOO_MANY = {"error": "查询过于频繁，请稍后再试"}


def _wake(request: web.Request) -> None:
    if WORKERS in request.app:
        request.app[WORKERS].wake()


@routes.post(PUSH_PATH)
@documented(
    summary_zh="EMS 轨迹推送（040002）",
    summary_en="EMS trace push (040002)",
    security="none",
    tag="carrier",
    request=Media(
        {"application/json": {"type": "object"}, "application/x-www-form-urlencoded": {"type": "object"}}
    ),
    responses={200: PushAnswer, 400: PushAnswer},
    description="For the carrier only: the body is sealed and signed with the carrier's key.",
)
async def ems_push(request: web.Request) -> web.Response:
    """EMS 040002: answer in EMS's format; a non-success code makes EMS push again."""
    settings, deps = request.app[SETTINGS], request.app[DEPS]
    sender_no = settings.carrier_sender_no
    body: bytes | dict = await read_body(request, limits.EMS_PUSH)
    if request.content_type == "application/x-www-form-urlencoded":  # EMS may post form fields
        body = dict(parse_qsl(body.decode("utf-8", "replace")))
    try:
        push = parse_trace_push(body, sign_key=settings.carrier_sign_key, sender_no=sender_no)
    except InvalidPush as e:
        await _count(request, "push.rejected")
        log.warning("rejected EMS push: %s", e)
        return web.json_response(push_answer("", sender_no, ok=False, message=str(e)), status=400)
    try:
        await tracking.record(
            deps.uow(),
            list(push.events),
            now=request.app[CLOCK].now(),
            source="push",
            known_codes=deps.known_codes,
        )
    except Conflict:
        return web.json_response(push_answer(push.serial_no, sender_no, ok=False, message="请重试"))
    _wake(request)
    return web.json_response(push_answer(push.serial_no, sender_no))


async def _count(request: web.Request, name: str) -> None:
    async with request.app[DEPS].uow() as uow:
        await uow.tracking.count({name: 1})


@routes.get("/api/v1/track")
@documented(
    summary_zh="群众查询邮件",
    summary_en="Citizen lookup by waybill or case number",
    security="none",
    tag="tracking",
    responses={200: TrackOut, 404: None, 429: None},
    params=(
        Param("waybill_no", "query", {"type": "string"}, "邮件号 (or case_no)"),
        Param("case_no", "query", {"type": "string"}, "办件编号 (or waybill_no)"),
        Param(
            "phone_last4",
            "query",
            {"type": "string", "pattern": "^[0-9]{4}$"},
            "收件人手机号后4位",
            required=True,
        ),
    ),
    headers={429: {"Retry-After": "seconds"}},
    description="Unknown number and wrong phone give the same 404; repeated failures are 429.",
)
async def track(request: web.Request) -> web.Response:
    """The citizen lookup; failures are capped per address, waybill and case number (429 over a cap)."""
    q = request.query
    waybill_no, case_no = q.get("waybill_no", "").strip(), q.get("case_no", "").strip()
    phone_last4 = q.get("phone_last4", "").strip()
    throttle, now = request.app[CITIZEN_THROTTLE], request.app[CLOCK].now()
    if "\x00" in waybill_no + case_no:  # no such number (PostgreSQL text cannot hold a NUL): by address only
        waybill_no, case_no = "\x00", ""
    address = client_address(request, request.app[TRUSTED_PROXIES])
    buckets = buckets_for(address, "" if waybill_no == "\x00" else waybill_no, case_no)
    with throttle.attempt(buckets) as admitted:
        wait = await throttle.retry_after(buckets, now) if admitted else 1
        if wait is not None:
            return _json(TOO_MANY, status=429, headers={"Retry-After": str(wait)})
        found = await _find(request, waybill_no, case_no, phone_last4)
        if found is None:
            await throttle.failed(buckets, now)
            return _json(NOT_FOUND, status=404)
    return _json(found)


async def _find(request: web.Request, waybill_no: str, case_no: str, phone_last4: str) -> dict | None:
    if waybill_no == "\x00" or not citizen.valid_query(waybill_no, case_no, phone_last4):
        return None
    if len(waybill_no) > 32 or len(case_no) > 64:
        return None
    lookup = request.app[CITIZEN_LOOKUP]
    return await citizen.find(lookup, phone_last4=phone_last4, waybill_no=waybill_no, case_no=case_no)


def _json(value, status: int = 200, headers: dict | None = None) -> web.Response:
    """pydantic-core's JSON: several times faster than json.dumps; nobody caches a citizen's answer."""
    body = pydantic_core.to_json(value)
    headers = {**NO_STORE, **headers} if headers else NO_STORE
    return web.Response(body=body, status=status, content_type="application/json", headers=headers)


@routes.get("/api/v1/exceptions")
@documented(
    summary_zh="异常件队列",
    summary_en="The exceptions queue",
    security="staff",
    tag="tracking",
    roles=("dispatcher",),
    responses={200: ExceptionsOut},
)
async def exceptions(request: web.Request) -> web.Response:
    await staff(request, "dispatcher")
    settings = request.app[SETTINGS]
    uow = scoped(request).uow(read_only=True)
    items = await list_exceptions(uow, now=request.app[CLOCK].now(), stuck_days=settings.stuck_days)
    kinds: dict[str, int] = {}
    for item in items:
        kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
    return web.json_response({"total": len(items), "counts": kinds, "exceptions": items})


@routes.post("/api/v1/jobs/{id}/retry")
@documented(
    summary_zh="重新排队死信任务",
    summary_en="Put a dead-lettered job back in the queue",
    security="staff",
    tag="tracking",
    roles=("admin",),
    responses={202: JobRetryOut, 404: None},
)
async def retry_job(request: web.Request) -> web.Response:
    user = await staff(request, "admin")
    text = request.match_info["id"]
    if not (text.isascii() and text.isdigit() and len(text) <= 18):  # a 64-bit row id, else none such
        raise NotFound("no such dead-lettered job")
    job_id = int(text)
    async with request.app[DEPS].uow() as uow:
        if not await uow.jobs.retry_dead(job_id, now=request.app[CLOCK].now()):
            raise NotFound("no such dead-lettered job")
    log.info("job %s put back in the queue by %s", job_id, user.name)
    _wake(request)
    return web.json_response({"id": job_id, "state": queue.PENDING}, status=202)


@routes.get("/api/v1/metrics")
@documented(
    summary_zh="运行指标",
    summary_en="Counters and queue sizes",
    security="staff",
    tag="tracking",
    roles=("admin",),
    responses={200: MetricsOut},
)
async def metrics(request: web.Request) -> web.Response:
    await staff(request, "admin")
    async with request.app[DEPS].uow(read_only=True) as uow:
        counters = await uow.tracking.read_counters()
        jobs = await uow.jobs.counts()
        active = await uow.tracking.active_count()
    return web.json_response({"counters": counters, "jobs": jobs, "tracking_active": active})
