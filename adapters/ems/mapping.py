"""The EMS fields both protocols share: China time, yuan amounts, parties, insurance, and a scan as our event.

Pure but for `china_now`, the default clock of the gateways and the simulator; the rest takes `now`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from logistics.domain.china_time import CHINA as CHINA_TIME
from logistics.domain.model import Address, Party
from logistics.domain.validation import is_mobile, normalize_phone
from logistics.ports import CarrierUnavailable, Shipment, TrackEvent

from . import codes

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def china_now() -> datetime:
    return datetime.now(CHINA_TIME)


def ems_time(moment: datetime) -> str:
    return moment.astimezone(CHINA_TIME).strftime(TIME_FORMAT)


def parse_ems_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA_TIME)


def yuan_text(fen: int) -> str:
    return str(Decimal(fen) / 100)


def party(person: Party, address: Address) -> dict[str, str]:
    phone = normalize_phone(person.phone)
    return {
        "name": person.name,
        "mobile" if is_mobile(phone) else "phone": phone,
        "prov": address.province,
        "city": address.city,
        "county": address.county,
        "address": address.town + address.detail,
        "postCode": address.postcode,
    }


def parties(shipment: Shipment) -> dict[str, dict[str, str]]:
    return {
        "sender": party(shipment.sender, shipment.sender_address),
        "receiver": party(shipment.receiver, shipment.receiver_address),
    }


def insurance(shipment: Shipment) -> dict[str, str]:
    """Insured (flag 2) for the declared value when there is one, else not (flag 1)."""
    insured = shipment.declared_value_fen > 0
    return {
        "insuranceFlag": "2" if insured else "1",
        "insuranceAmount": yuan_text(shipment.declared_value_fen) if insured else "0",
    }


def track_event(item: dict) -> TrackEvent:
    """One EMS scan (an open-platform trace item or push, a WebService trace) as our event, raw code kept."""
    try:
        op_code = str(item["opCode"])
        waybill_no = str(item["waybillNo"])
        at = parse_ems_time(str(item["opTime"]))
    except (KeyError, ValueError):
        raise CarrierUnavailable("EMS scan lacks waybill number, time or opCode") from None
    status = codes.status_for_opcode(op_code)
    description = str(item.get("opDesc") or item.get("opName") or "")
    return TrackEvent(
        waybill_no=waybill_no,
        time=at,
        status=status,
        raw_code=op_code,
        description=description,
        location="".join(str(item.get(k) or "") for k in ("opOrgCity", "opOrgName")),
        reason=description if status in codes.REASON_STATUSES else "",
        extra={"op_name": str(item.get("opName") or ""), "org_code": str(item.get("opOrgCode") or "")},
    )
