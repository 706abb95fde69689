"""Case progress (办件进度) from the approval system: `POST /api/v1/cases/{case_no}/events`, signed like
intake by the client that owns the case. A case is the client's own: another client's case of the same
number is another case (nothing of it is read, changed or told)."""

from __future__ import annotations

import hashlib
from datetime import UTC

import pydantic_core
from aiohttp import web

from adapters.common.bodies import read_body

from ...service.cases import CaseEventRequest, record_case_event
from .. import limits
from ..auth import scoped, signed_client
from ..keys import CLOCK, SETTINGS
from .documented import Param, documented
from .responses import CaseEventOut
from .schemas import CaseEventIn, parse, parse_case_no

routes = web.RouteTableDef()


def event_hash(body: CaseEventIn) -> str:
    """Identical content gives the same hash, whatever the key order, spacing or the time's offset."""
    canonical = {**body.model_dump(mode="json"), "at": body.at.astimezone(UTC).isoformat()}
    return hashlib.sha256(pydantic_core.to_json(canonical)).hexdigest()


@routes.post("/api/v1/cases/{case_no}/events")
@documented(
    summary_zh="推送办件进度（幂等）",
    summary_en="Post a stage of a case (idempotent per client, case, stage and time)",
    security="client",
    tag="intake",
    request=CaseEventIn,
    responses={201: CaseEventOut, 200: CaseEventOut, 409: None, 422: None},
    params=(Param("case_no", "path", {"type": "string", "pattern": "^[A-Za-z0-9_\\-]{1,64}$"}, "办件编号"),),
    description="201: new; 200: an identical replay (the same stage and time), with the first answer; "
    "409: the same stage and time with other content; 422: `applicant_phone` and `matter_name` are "
    "required on the case's first event; 413: over 64 KiB. The citizen then finds the case by its "
    "number and the last 4 digits of the applicant's phone (GET /api/v1/track), before any dispatch. "
    "同一办件同一环节同一时间重复推送相同内容返回 200。",
)
async def post_case_event(request: web.Request) -> web.Response:
    settings, now = request.app[SETTINGS], request.app[CLOCK].now()
    body = await read_body(request, limits.SMALL_JSON)
    client_id = signed_client(request, body)
    case_no = parse_case_no(request.match_info["case_no"])
    event = parse(CaseEventIn, body)
    req = CaseEventRequest(
        hall=settings.client_hall(client_id),
        client_id=client_id,
        case_no=case_no,
        stage=event.stage,
        at=event.at,
        note=event.note,
        matter_name=event.matter_name,
        applicant_phone=event.applicant_phone,
        request_hash=event_hash(event),
        now=now,
    )
    result = await record_case_event(scoped(request).uow(), req)
    return web.json_response(result.response, status=201 if result.created else 200)
