"""Self-pickup for staff over the API: send a new pickup code by SMS, print a pickup slip (取件通知单);
and the SMS provider's delivery receipts (Aliyun SmsReport), guarded by a shared token."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from adapters.common.bodies import read_body
from adapters.sms.aliyun import parse_receipts
from labels.pickup_slip import render_pickup_slip_pdf

from ...domain.errors import InvalidInput
from ...domain.masking import mask_phone
from ...service import pickup_delivery
from ...service.sms_receipts import SmsReceipt, record_receipts
from .. import limits
from ..auth import scoped, staff
from ..keys import DEPS, SETTINGS
from .documented import BINARY, Media, Param, documented

log = logging.getLogger("certpost.sms")
routes = web.RouteTableDef()
ROLES = ("dispatcher",)
RECEIPTS_PATH = "/api/v1/sms/aliyun/receipts"


@routes.post("/api/v1/dispatches/{id}/pickup-code")
@documented(
    summary_zh="重新发送取件码短信（旧取件码作废）",
    summary_en="Send a new pickup code by SMS (the old one stops working)",
    security="staff",
    roles=ROLES,
    responses={200: None, 404: None, 409: None},
)
async def send_code(request: web.Request) -> web.Response:
    user = await staff(request, *ROLES)
    issued = await pickup_delivery.resend(
        scoped(request), request.match_info["id"], actor=f"staff:{user.name}"
    )
    answer = {
        "dispatch_id": issued.dispatch_id,
        "channel": "sms",
        "sent_to": mask_phone(issued.phone),
        "expires_at": issued.expires_at.isoformat(),
    }
    return web.json_response(answer)


@routes.post("/api/v1/dispatches/{id}/pickup-slip")
@documented(
    summary_zh="打印取件通知单（生成新取件码，旧取件码作废）",
    summary_en="Print a pickup slip with a new pickup code (PDF; the old code stops working)",
    security="staff",
    roles=ROLES,
    responses={200: Media({"application/pdf": BINARY}), 404: None, 409: None},
)
async def print_slip(request: web.Request) -> web.Response:
    user = await staff(request, *ROLES)
    return await slip_response(scoped(request), request.match_info["id"], actor=f"staff:{user.name}")


async def slip_response(deps, dispatch_id: str, *, actor: str) -> web.Response:
    """The slip's PDF, never cached: its code exists in clear only in this answer."""
    slip = await pickup_delivery.print_slip(deps, dispatch_id, actor=actor)
    pdf = render_pickup_slip_pdf(
        hall_name=slip.hall_name, matter_name=slip.matter_name, masked_name=slip.masked_name,
        place=slip.place, code=slip.code, expires_at=slip.expires_at, case_no=slip.case_no,
        track_url=slip.track_url, printed_at=slip.printed_at,
    )  # fmt: skip
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="pickup-slip-{slip.case_no}.pdf"',
        },
    )


@documented(
    summary_zh="阿里云短信回执（SmsReport 推送）",
    summary_en="Aliyun SMS delivery receipts (SmsReport push)",
    security="none",
    tag="sms",
    request=Media({"application/json": {"type": "array", "items": {"type": "object"}}}),
    responses={200: None, 403: None, 413: None, 422: None},
    params=(Param("token", "query", {"type": "string"}, "the shared receipt token", required=True),),
)
async def aliyun_receipts(request: web.Request) -> web.Response:
    """Aliyun's SmsReport push: a JSON array of receipts; answered {"code": 0} once recorded (else the
    provider pushes again). The URL configured at Aliyun carries `?token=` (aliyun_sms_receipt_token)."""
    settings = request.app[SETTINGS]
    token = request.query.get("token", "")
    expected = settings.aliyun_sms_receipt_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return web.json_response({"code": 403, "msg": "forbidden"}, status=403)
    body = await read_body(request, limits.SMALL_JSON)
    try:
        receipts = parse_receipts(body)
    except ValueError as e:
        raise InvalidInput([("body", str(e))]) from None
    found = [SmsReceipt(r.out_id, r.success, r.err_code, "aliyun") for r in receipts]
    recorded = await record_receipts(request.app[DEPS], found)
    log.info("aliyun sms receipts: %d received, %d recorded", len(found), recorded)
    return web.json_response({"code": 0, "msg": "成功"})


def install(app: web.Application) -> None:
    app.add_routes(routes)
    settings = app[SETTINGS]
    if settings.sms == "aliyun" and settings.aliyun_sms_receipt_token:
        app.router.add_post(RECEIPTS_PATH, aliyun_receipts)
