"""Pure build and parse for the EMS WebService: keyword arguments for zeep in, zeep results out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zeep.exceptions import Fault
from zeep.helpers import serialize_object

from logistics.domain.model import Address
from logistics.ports import Booking, CarrierError, CarrierRejected, CarrierUnavailable, Shipment, TrackEvent

from .. import codes
from ..crypto import sign_params
from ..mapping import ems_time, insurance, parties, party, track_event, yuan_text
from . import NAMESPACE
from .settings import EmsSoapSettings

BINDING = f"{{{NAMESPACE}}}EmsBinding"

CANCEL_CODES = {  # ems.inland cancelCode
    "customer": "28",
    "pickup_late": "13",
    "duplicate": "16",
    "address_changed": "22",
    "test": "24",
    "other": "26",
}
DEFAULT_CANCEL_CODE = CANCEL_CODES["customer"]


def auth(operation: str, settings: EmsSoapSettings, now: datetime) -> dict[str, str]:
    stamp = ems_time(now)
    signed = {"operation": operation, "senderNo": settings.sender_no, "timeStamp": stamp}
    return {
        "senderNo": settings.sender_no,
        "timeStamp": stamp,
        "sign": sign_params(signed, settings.sign_key),
    }


def as_dict(result: Any) -> dict:
    data = serialize_object(result, dict)
    if not isinstance(data, dict):
        raise CarrierUnavailable("EMS WebService reply has an unexpected shape")
    return data


def unwrap(result: Any) -> dict:
    """The reply as a dict, or the exception its errorCode stands for."""
    data = as_dict(result)
    if data.get("success") != "T":
        raise codes.error_for(str(data.get("errorCode") or ""), str(data.get("errorMsg") or ""))
    return data


def error_from_fault(fault: Fault) -> CarrierError:
    detail: dict[str, str] = {}
    if fault.detail is not None:
        for node in fault.detail.iter():
            if isinstance(node.tag, str) and node.text:
                detail[node.tag.rpartition("}")[2]] = node.text.strip()
    code = detail.get("errorCode", "")
    try:
        retry_after = float(detail["retryAfter"]) if "retryAfter" in detail else None
    except ValueError:
        retry_after = None
    if not code:
        return CarrierUnavailable(f"EMS WebService fault: {fault.message}")
    return codes.error_for(code, str(fault.message or ""), retry_after=retry_after)


def create_order_params(shipment: Shipment, settings: EmsSoapSettings, now: datetime) -> dict:
    return {
        "auth": auth("createOrder", settings, now),
        "txLogisticID": shipment.order_no,
        "orderType": shipment.order_type,
        "mailNo": shipment.waybill_no,
        "bizProductNo": settings.biz_product_no,
        "contentsAttribute": settings.contents_attribute,
        "weight": shipment.weight_g,
        **insurance(shipment),
        **parties(shipment),
        "cargoDesc": shipment.contents,
    }


def _booking(order_no: Any, waybill_no: Any) -> Booking:
    if not order_no or not waybill_no:
        raise CarrierUnavailable("EMS booking reply lacks the order or waybill number")
    return Booking(order_no=str(order_no), waybill_no=str(waybill_no))


def parse_create_order_response(result: Any) -> Booking:
    data = unwrap(result)
    return _booking(data.get("txLogisticID"), data.get("mailNo"))


def query_order_params(order_no: str, settings: EmsSoapSettings, now: datetime) -> dict:
    return {"auth": auth("queryOrder", settings, now), "txLogisticID": order_no}


def parse_query_order_response(result: Any) -> Booking | None:
    try:
        data = unwrap(result)
    except CarrierRejected as exc:
        if exc.code == codes.ORDER_NOT_FOUND:
            return None
        raise
    order = data.get("order") or {}
    return _booking(order.get("txLogisticID"), order.get("mailNo"))


def cancel_order_params(
    order_no: str, waybill_no: str | None, reason: str, settings: EmsSoapSettings, now: datetime
) -> dict:
    code = CANCEL_CODES.get(reason, reason if reason in CANCEL_CODES.values() else DEFAULT_CANCEL_CODE)
    return {
        "auth": auth("cancelOrder", settings, now),
        "txLogisticID": order_no,
        "mailNo": waybill_no,
        "cancelCode": code,
        "cancelReason": reason,
    }


def parse_result(result: Any) -> None:
    unwrap(result)


def query_trace_params(waybill_no: str, settings: EmsSoapSettings, now: datetime) -> dict:
    return {"auth": auth("queryTrace", settings, now), "mailNo": waybill_no}


def parse_query_trace_response(result: Any) -> list[TrackEvent]:
    traces = unwrap(result).get("trace") or []
    events = (track_event({**trace, "waybillNo": trace.get("mailNo")}) for trace in traces)
    return sorted(events, key=lambda event: event.time)


def bill_numbers_params(count: int, settings: EmsSoapSettings, now: datetime) -> dict:
    if not 1 <= count <= 100:
        raise ValueError("EMS allocates 1 to 100 waybill numbers per call")
    return {
        "auth": auth("getBillNumBySys", settings, now),
        "businessType": settings.business_type,
        "billNoAmount": count,
    }


def parse_bill_numbers_response(result: Any) -> list[str]:
    assigned = (unwrap(result).get("assignIds") or {}).get("assignId") or []
    return [str(item["billno"]) for item in assigned if item.get("billno")]


def print_data_params(shipment: Shipment, settings: EmsSoapSettings, now: datetime) -> dict:
    if not shipment.waybill_no:
        raise ValueError("print data needs the waybill number printed on the label")
    sender = party(shipment.sender, shipment.sender_address)
    receiver = party(shipment.receiver, shipment.receiver_address)
    return {
        "auth": auth("updatePrintDatas", settings, now),
        "printData": {
            "billno": shipment.waybill_no,
            "txLogisticID": shipment.order_no,
            **_prefixed("s", sender),
            **_prefixed("t", receiver),
            "weight": shipment.weight_g,
            "insure": yuan_text(shipment.declared_value_fen),
            "cargoDesc": shipment.contents,
            "payMode": settings.pay_mode,
        },
    }


def _prefixed(prefix: str, person: dict[str, str]) -> dict[str, str]:
    return {
        f"{prefix}Name": person["name"],
        f"{prefix}Phone": person.get("mobile") or person.get("phone", ""),
        f"{prefix}Prov": person["prov"],
        f"{prefix}City": person["city"],
        f"{prefix}County": person["county"],
        f"{prefix}Address": person["address"],
        f"{prefix}PostCode": person["postCode"],
    }


def collection_range_params(address: Address, settings: EmsSoapSettings, now: datetime) -> dict:
    return {
        "auth": auth("checkCollectionRange", settings, now),
        "prov": address.province,
        "city": address.city,
        "county": address.county,
        "address": address.town + address.detail,
    }


def parse_collection_range_response(result: Any) -> bool:
    return bool(unwrap(result).get("reachable"))
