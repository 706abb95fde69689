"""Intake from the approval system and the staff's dispatch API."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

import pydantic_core
from aiohttp import web

from adapters.common.bodies import read_body

from ...config import Settings
from ...domain.errors import InvalidInput, NotFound
from ...domain.hall import HALL_CODE
from ...domain.model import Dispatch
from ...domain.status import Status
from ...domain.village import for_point
from ...ports.repositories.users import User
from ...service import dispatches as dispatch_service
from ...service import village_points
from ...service.intake import IntakeRequest
from ...service.views import dispatch_json, event_json, masked_dispatch_json
from .. import limits
from ..auth import scoped, signed_client, staff
from ..keys import CLOCK, COMMITTER, DEPS, SETTINGS, WORKERS
from .documented import Param, documented
from .responses import DispatchDetailOut, DispatchListOut, DispatchOut
from .schemas import CorrectionIn, DispatchIn, parse, parse_dispatch, request_hash, to_domain

routes = web.RouteTableDef()


DISPATCH_ROLES = ("dispatcher",)


class SignedIntake(NamedTuple):
    """An intake body whose signature holds, as the handler hands it to the group commit."""

    body: bytes
    client_id: str
    now: datetime


def build_intake(settings: Settings, signed: SignedIntake) -> IntakeRequest:
    """Validates a signed body (InvalidInput: 422) and builds its dispatch."""
    parsed = parse_dispatch(signed.body)
    hall = settings.client_hall(signed.client_id)
    dispatch = to_domain(parsed, client_id=signed.client_id, now=signed.now, hall=hall)
    return IntakeRequest(
        dispatch, request_hash(parsed), signed.now, settings.auto_book, settings.job_max_attempts
    )


def intake_request(settings: Settings) -> Callable[[SignedIntake], IntakeRequest]:
    """`build_intake` with the settings bound (pull intake validates each item of a page with it)."""
    return functools.partial(build_intake, settings)


@routes.post("/api/v1/dispatches")
@documented(
    summary_zh="推送寄递单（幂等）",
    summary_en="Submit a dispatch (idempotent per client, case_no, direction)",
    security="client",
    tag="intake",
    request=DispatchIn,
    responses={201: DispatchOut, 200: DispatchOut, 409: None, 422: None},
    description="201: new; 200: an identical replay, with the first answer; 409: the same case_no and "
    "direction with a different body; 413: over 1 MiB. 同一案件重复推送相同内容返回 200 与首次相同的应答。",
)
async def intake(request: web.Request) -> web.Response:
    settings, now = request.app[SETTINGS], request.app[CLOCK].now()
    body = await read_body(request, settings.max_body_bytes)
    client_id = signed_client(request, body)
    intake_request = build_intake(settings, SignedIntake(body, client_id, now))
    if for_point(intake_request.dispatch):  # a point its hall has (422 otherwise)
        d = intake_request.dispatch
        await village_points.check_intake(request.app[DEPS].for_hall(d.hall).uow(read_only=True), d)
    result = await request.app[COMMITTER].submit(intake_request)
    if result.queued and WORKERS in request.app:
        request.app[WORKERS].wake()
    body = result.body.encode() if result.body is not None else pydantic_core.to_json(result.response)
    status = 201 if result.created else 200
    # bytes and an explicit charset: aiohttp's `text=` path costs twice as much for the same header
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


READ_ROLES = (*DISPATCH_ROLES, "finance")
MASKED_ROLES = frozenset({"finance"})  # their work needs no recipient's name, phone or address


class Reader(NamedTuple):
    client_id: str | None  # the machine client, or None for staff
    view: Callable[[Dispatch], dict]


async def _authorize_reader(request: web.Request) -> Reader:
    """Staff, or the machine client whose signature over an empty body holds; and how they see a dispatch."""
    if "Authorization" in request.headers or "X-Client-Id" not in request.headers:
        return Reader(None, _view_for(await staff(request, *READ_ROLES)))
    return Reader(signed_client(request, b""), dispatch_json)


def _view_for(user: User) -> Callable[[Dispatch], dict]:
    return masked_dispatch_json if user.role in MASKED_ROLES else dispatch_json


@routes.get("/api/v1/dispatches/{id}")
@documented(
    summary_zh="查询寄递单及留痕",
    summary_en="A dispatch with its audit trail",
    security="client_or_staff",
    tag="intake",
    roles=READ_ROLES,
    responses={200: DispatchDetailOut, 404: None},
    description="Staff (Bearer), or the owning machine client signing an empty body. Another client's "
    "dispatch is 404, as if it did not exist.",
)
async def get_dispatch(request: web.Request) -> web.Response:
    client_id, view = await _authorize_reader(request)
    async with scoped(request).uow(read_only=True) as uow:
        d = await uow.dispatches.get(request.match_info["id"])
        if d is None or (client_id is not None and d.client_id != client_id):
            raise NotFound("no such dispatch")
        events = await uow.dispatches.events(d.id)
    return web.json_response({**view(d), "events": [event_json(e) for e in events]})


@routes.get("/api/v1/dispatches")
@documented(
    summary_zh="寄递单列表",
    summary_en="List dispatches",
    security="staff",
    roles=READ_ROLES,
    responses={200: DispatchListOut, 422: None},
    params=(
        Param(
            "status",
            "query",
            {"type": "array", "items": {"enum": [s.value for s in Status]}},
            "逗号分隔的状态 comma-separated statuses",
            style="form",
            explode=False,
        ),
        Param("q", "query", {"type": "string"}, "案件号、邮件号或收件人 case no., waybill no. or recipient"),
        Param(
            "limit",
            "query",
            {"type": "integer", "minimum": 0, "maximum": 999_999_999, "default": 100},
            "at most 500 are returned",
        ),
        Param("offset", "query", {"type": "integer", "minimum": 0, "maximum": 999_999_999, "default": 0}),
        Param("hall", "query", {"type": "string", "maxLength": 32}, "大厅编码 only this hall's dispatches"),
    ),
)
async def list_dispatches(request: web.Request) -> web.Response:
    view = _view_for(await staff(request, *READ_ROLES))
    status, limit, offset = _list_query(request.query)
    deps, hall = scoped(request), request.query.get("hall") or None
    if hall is not None and not HALL_CODE.fullmatch(hall):
        raise InvalidInput([("hall", "大厅编码须为 1-32 位字母、数字、- 或 _ (not a hall code)")])
    if hall is not None and deps.hall is None:
        deps = deps.for_hall(hall)  # one hall's list, for staff over every hall
    elif hall is not None and hall != deps.hall:
        return web.json_response({"total": 0, "dispatches": []})
    async with deps.uow(read_only=True) as uow:
        found, total = await uow.dispatches.search(
            status=status, q=request.query.get("q"), limit=limit, offset=offset
        )
    return web.json_response({"total": total, "dispatches": [view(d) for d in found]})


_STATUSES = frozenset(s.value for s in Status)


def _list_query(query) -> tuple[str | None, int, int]:
    """?status=a,b (known statuses only), ?limit=, ?offset= (integers): else a 422 naming each."""
    errors = []
    if "\x00" in query.get("q", ""):
        errors.append(("q", "不能含有 NUL 字符 (no NUL characters)"))
    status = query.get("status") or None
    if status is not None:
        unknown = [s for s in status.split(",") if s not in _STATUSES]
        if unknown:
            errors.append(("status", f"未知状态 {', '.join(map(repr, unknown))}；可选：{', '.join(Status)}"))
    numbers = {}
    for name, default in (("limit", 100), ("offset", 0)):
        text = query.get(name, str(default))
        if not (text.isascii() and text.isdigit() and len(text) <= 9):
            errors.append((name, f"必须是非负整数，而不是 {text!r}"))
        else:
            numbers[name] = int(text)
    if errors:
        raise InvalidInput(errors)
    return status, min(500, numbers["limit"]), numbers["offset"]


@routes.patch("/api/v1/dispatches/{id}")
@documented(
    summary_zh="更正收件人或地址",
    summary_en="Correct the recipient or address before booking",
    security="staff",
    roles=DISPATCH_ROLES,
    request=CorrectionIn,
    responses={200: DispatchOut, 404: None, 409: None, 422: None},
)
async def correct(request: web.Request) -> web.Response:
    """Correct the recipient or address before booking, e.g. after the carrier rejected it."""
    user = await staff(request, *DISPATCH_ROLES)
    recipient, address = parse(CorrectionIn, await read_body(request, limits.SMALL_JSON)).domain()
    actor, now = f"staff:{user.name}", request.app[CLOCK].now()
    d = await dispatch_service.correct(
        scoped(request).uow(),
        request.match_info["id"],
        actor=actor,
        now=now,
        recipient=recipient,
        address=address,
    )
    return web.json_response(dispatch_json(d))


async def _staff_action(request: web.Request, action) -> Dispatch:
    """Run a dispatcher's action on the dispatch in the path, then wake the workers for its job."""
    user = await staff(request, *DISPATCH_ROLES)
    d = await action(
        scoped(request).uow(),
        request.match_info["id"],
        actor=f"staff:{user.name}",
        now=request.app[CLOCK].now(),
    )
    if WORKERS in request.app:
        request.app[WORKERS].wake()
    return d


@routes.post("/api/v1/dispatches/{id}/book")
@documented(
    summary_zh="下单（或重试失败的下单）",
    summary_en="Book, or retry a failed booking",
    security="staff",
    roles=DISPATCH_ROLES,
    responses={202: DispatchOut, 404: None, 409: None},
)
async def book(request: web.Request) -> web.Response:
    """Book by hand (auto-booking off) or retry a failed booking."""
    d = await _staff_action(request, dispatch_service.request_booking)
    return web.json_response(dispatch_json(d), status=202)


@routes.post("/api/v1/dispatches/{id}/cancel")
@documented(
    summary_zh="取消寄递",
    summary_en="Cancel a dispatch",
    security="staff",
    roles=DISPATCH_ROLES,
    responses={200: DispatchOut, 202: DispatchOut, 404: None, 409: None},
    description="200: cancelled; 202: booked with the carrier, the carrier's cancel is under way.",
)
async def cancel(request: web.Request) -> web.Response:
    d = await _staff_action(request, dispatch_service.cancel)
    return web.json_response(dispatch_json(d), status=200 if d.status is Status.CANCELLED else 202)
