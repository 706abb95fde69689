"""Pure build and parse for the EMS open platform: no I/O, no clock (callers pass `now`)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from logistics.domain.model import Address
from logistics.ports import Booking, CarrierRejected, CarrierUnavailable, Quote, Shipment, TrackEvent

from .. import codes
from ..crypto import seal
from ..mapping import ems_time, insurance, parties, track_event
from .settings import EmsOpenSettings

CREATE_ORDER = "020003"
CANCEL_ORDER = "020006"
ORDER_QUERY = "020005"  # *unconfirmed*: not in public EMS docs; our lookup-before-retry needs one
TRACE = "040001"
TRACE_PUSH = "040002"
POSTAGE = "050005"
REACHABILITY = "060002"

VERSION = "V1.0.0"


def fen_from_yuan(text: Any) -> int:
    try:
        return int((Decimal(str(text)) * 100).to_integral_value())
    except InvalidOperation:
        raise CarrierUnavailable("EMS returned a fee that is not a number") from None


def envelope(api_code: str, payload: dict, settings: EmsOpenSettings, now: datetime) -> dict[str, str]:
    """The form fields of one open-platform call, business JSON sealed with SM4."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return {
        "apiCode": api_code,
        "senderNo": settings.sender_no,
        "authorization": settings.authorization,
        "msgType": "0",
        "timeStamp": ems_time(now),
        "version": VERSION,
        "logitcsInterface": seal(text, settings.sign_key),
    }


def unwrap(raw: bytes | dict) -> Any:
    """The decoded retBody of a reply, or the exception its retCode stands for."""
    reply = raw if isinstance(raw, dict) else _json_or_unavailable(raw)
    if not isinstance(reply, dict) or "retCode" not in reply:
        raise CarrierUnavailable("EMS reply is not an open-platform envelope")
    code = str(reply["retCode"])
    if code != codes.SUCCESS:
        raise codes.error_for(code, str(reply.get("retMsg") or ""))
    body = reply.get("retBody")
    return _json_or_unavailable(body) if isinstance(body, str | bytes) and body else body


def _json_or_unavailable(raw: str | bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise CarrierUnavailable("EMS reply is not JSON") from None


def _expect_dict(body: Any) -> dict:
    if not isinstance(body, dict):
        raise CarrierUnavailable("EMS retBody has an unexpected shape")
    return body


def create_order_request(shipment: Shipment, settings: EmsOpenSettings, now: datetime) -> dict:
    payload = {
        "ecommerceUserId": settings.ecommerce_user_id or settings.sender_no,
        "logisticsOrderNo": shipment.order_no,
        "orderType": str(shipment.order_type),  # *unconfirmed* field: 1 collect, 2 deliver
        "createdTime": ems_time(now),
        "contentsAttribute": settings.contents_attribute,
        "bizProductNo": settings.biz_product_no,
        "weight": shipment.weight_g,
        **insurance(shipment),
        "receiptFlag": "1",
        **parties(shipment),
        "cargos": [{"cargoName": shipment.contents, "cargoQuantity": 1}],
    }
    if shipment.waybill_no:
        payload["waybillNo"] = shipment.waybill_no
    return payload


def _booking(body: dict) -> Booking:
    order_no, waybill_no = body.get("logisticsOrderNo"), body.get("waybillNo")
    if not order_no or not waybill_no:
        raise CarrierUnavailable("EMS booking reply lacks the order or waybill number")
    return Booking(order_no=str(order_no), waybill_no=str(waybill_no))


def parse_create_order_response(raw: bytes | dict) -> Booking:
    return _booking(_expect_dict(unwrap(raw)))


def order_query_request(order_no: str) -> dict:
    return {"logisticsOrderNo": order_no}


def parse_order_query_response(raw: bytes | dict) -> Booking | None:
    try:
        body = unwrap(raw)
    except CarrierRejected as exc:
        if exc.code == codes.ORDER_NOT_FOUND:
            return None
        raise
    return _booking(_expect_dict(body))


def cancel_request(order_no: str, waybill_no: str | None, reason: str) -> dict:
    return {"logisticsOrderNo": order_no, "waybillNo": waybill_no or "", "cancelReason": reason}


def parse_cancel_response(raw: bytes | dict) -> None:
    unwrap(raw)


def trace_request(waybill_no: str) -> dict:
    return {"waybillNo": waybill_no, "direction": "0"}


def parse_trace_response(raw: bytes | dict) -> list[TrackEvent]:
    body = unwrap(raw)
    items = body.get("responseItems", []) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise CarrierUnavailable("EMS trace reply has an unexpected shape")
    return sorted((track_event(item) for item in items), key=lambda event: event.time)


def postage_request(shipment: Shipment, settings: EmsOpenSettings) -> dict:
    origin, destination = shipment.sender_address, shipment.receiver_address
    return {
        "bizProductNo": settings.biz_product_no,
        "weight": shipment.weight_g,
        "senderProv": origin.province,
        "senderCity": origin.city,
        "senderCounty": origin.county,
        "receiverProv": destination.province,
        "receiverCity": destination.city,
        "receiverCounty": destination.county,
    }


def parse_postage_response(raw: bytes | dict) -> Quote:
    body = _expect_dict(unwrap(raw))
    return Quote(
        total_fen=fen_from_yuan(body.get("realFee")), standard_fen=fen_from_yuan(body.get("standardFee"))
    )


def reachability_request(address: Address) -> dict:
    return {
        "prov": address.province,
        "city": address.city,
        "county": address.county,
        "address": address.town + address.detail,
    }


def parse_reachability_response(raw: bytes | dict) -> bool:
    body = _expect_dict(unwrap(raw))
    return str(body.get("reachable", "")).lower() in {"1", "true"}
