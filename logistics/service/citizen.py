"""The citizen's view of one parcel: found by waybill or case number plus the phone's last four digits,
with names and phone numbers masked, in Simplified Chinese."""

from __future__ import annotations

import re
from datetime import datetime

from ..domain.china_time import CHINA
from ..domain.masking import mask_name, mask_phone
from ..ports import UnitOfWork
from ..ports.repositories.tracking import CitizenLookup, CitizenRow, CitizenScan

STATUS_TEXT = {
    "received": "已受理，待寄出",
    "booking": "正在下单",
    "booked": "已下单，待揽收",
    "booking_failed": "下单异常，工作人员处理中",
    "label_printed": "已打印面单，待揽收",
    "handed_over": "已交寄",
    "in_transit": "运输中",
    "out_for_delivery": "派送中",
    "delivered": "已签收",
    "delivery_failed": "投递未成功",
    "returning": "退回中",
    "returned": "已退回",
    "cancelled": "已取消",
    "awaiting_pickup": "待窗口自取",
    "picked_up": "已自取",
}

_DIGITS = re.compile(r"\d{7,}")
EMS = "中国邮政 EMS"
AT_THE_HALL = "大厅窗口自取"  # handed out at the counter: no carrier carries it


def _cn(t) -> str:
    return t.astimezone(CHINA).isoformat(timespec="seconds")


def scrub(text: str, names: tuple[str, ...]) -> str:
    """Carrier texts may name the signer or a courier's phone: mask both."""
    text = _DIGITS.sub(lambda m: mask_phone(m.group()), text or "")
    for name in names:
        if name and len(name) > 1:
            text = text.replace(name, mask_name(name))
    return text


def carrier_text(delivery_method: str, direction: str) -> str:
    """Who brings it: EMS, except a certificate the applicant collects at the hall's counter."""
    return AT_THE_HALL if delivery_method == "pickup" and direction != "inbound" else EMS


def valid_query(waybill_no: str, case_no: str, phone_last4: str) -> bool:
    return bool(waybill_no or case_no) and len(phone_last4) == 4 and phone_last4.isdigit()


async def lookup(
    uow: UnitOfWork, *, phone_last4: str, waybill_no: str = "", case_no: str = ""
) -> dict | None:
    """The citizen's answer read in a (read-only) unit of work."""
    async with uow:
        row = await uow.tracking.find_for_citizen(**_by(phone_last4, waybill_no, case_no))
    return None if row is None else view(row, row.scans)


async def find(
    reads: CitizenLookup, *, phone_last4: str, waybill_no: str = "", case_no: str = ""
) -> dict | None:
    """`lookup` for the web: one read of its own (on SQLite, on the loop's thread), no unit of work."""
    row = await reads.find_for_citizen(**_by(phone_last4, waybill_no, case_no))
    return None if row is None else view(row, row.scans)


def _by(phone_last4: str, waybill_no: str, case_no: str) -> dict:
    """The waybill number when given, else the case number."""
    return {
        "phone_last4": phone_last4,
        "waybill_no": waybill_no or None,
        "case_no": None if waybill_no else case_no,
    }


def view(row: CitizenRow, scans: list[CitizenScan]) -> dict:
    """The citizen's answer from the stored dispatch columns and its scans (pure)."""
    p, status = row.payload, row.status
    recipient, a = p["recipient"], p["address"]
    names = (recipient["name"],)
    return {
        "status": status,
        "status_text": STATUS_TEXT.get(status, status),
        "waybill_no": row.waybill_no,
        "case_no": row.case_no,
        "carrier": carrier_text(row.delivery_method, row.direction),
        "matter_name": p["matter_name"],
        "department_name": p["department_name"],
        "completed_at": _cn(datetime.fromisoformat(p["completed_at"])),
        "recipient": {"name": mask_name(recipient["name"]), "phone": mask_phone(recipient["phone"])},
        "destination": f"{a['province']}{a['city']}{a['county']}{a.get('town', '')}",
        "reason": scrub(row.reason, names) if status in ("delivery_failed", "returned") else "",
        "updated_at": _cn(row.updated_at or row.created_at),
        "events": [
            {
                "time": _cn(s.time),
                "status": s.status,
                "status_text": STATUS_TEXT.get(s.status, s.status),
                "description": scrub(s.description, names),
                "location": scrub(s.location, names),
            }
            for s in scans
        ],
    }
