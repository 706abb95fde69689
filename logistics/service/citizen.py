"""The citizen's view of one parcel, or of one case (办件查询): found by waybill or case number plus the
phone's last four digits, with names and phone numbers masked, in Simplified Chinese.

A case number finds the case even before any parcel exists, by its stages (`case_events`); once there
are parcels, the top-level fields are the outbound parcel's (the contract's `status`, `waybill_no`,
`events`) and `parcels` lists each direction's."""

from __future__ import annotations

import re
from datetime import datetime

from ..domain.case_progress import STAGE_TEXT, description
from ..domain.china_time import CHINA
from ..domain.masking import mask_name, mask_phone
from ..ports import UnitOfWork
from ..ports.repositories.tracking import CitizenCase, CitizenLookup, CitizenRow, CitizenScan, CitizenStage

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

# a number of 7 digits or more, or a phone written in groups (138-0796-1234, 0796 1234567); not a date
_DIGITS = re.compile(r"(?<!\d)\d{3,4}[ \-]\d{3,4}[ \-]?\d{4}(?!\d)|\d{7,}")
EMS = "中国邮政 EMS"
AT_THE_HALL = "大厅窗口自取"  # handed out at the counter: no carrier carries it
DIRECTION_TEXT = {"outbound": "证照寄送", "inbound": "材料收取"}
PICKUP_PLACE = {"pickup": "政务服务大厅窗口", "village_point": "村级代办点"}
PICKUP_STEP = {
    "awaiting_pickup": "待取件：已到{place}，请凭取件码领取",
    "picked_up": "已取件：已在{place}领取",
}


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
        return await find(uow.tracking, phone_last4=phone_last4, waybill_no=waybill_no, case_no=case_no)


async def find(
    reads: CitizenLookup, *, phone_last4: str, waybill_no: str = "", case_no: str = ""
) -> dict | None:
    """`lookup` for the web: one read of its own (on SQLite, on the loop's thread), no unit of work."""
    if waybill_no:
        row = await reads.find_for_citizen(phone_last4=phone_last4, waybill_no=waybill_no)
        return None if row is None else with_case(view(row, row.scans), CitizenCase([row], list(row.stages)))
    found = await reads.find_case_for_citizen(phone_last4=phone_last4, case_no=case_no)
    return None if found is None else case_view(found, case_no)


def stage_json(s: CitizenStage, names: tuple[str, ...] = ()) -> dict:
    """A stage as the citizen sees it: the approval system's note with phone numbers (and the parcels'
    recipients' names, when known) masked."""
    return {
        "stage": s.stage,
        "stage_text": STAGE_TEXT.get(s.stage, s.stage),
        "time": _cn(s.time),
        "description": scrub(description(s.stage, s.note), names),
    }


def primary(parcels: list[CitizenRow]) -> CitizenRow:
    """The parcel the top-level fields describe: the outbound one (the result), else the newest."""
    return next((p for p in parcels if p.direction == "outbound"), parcels[0])


def case_view(found: CitizenCase, case_no: str) -> dict:
    """The citizen's answer for a case: its stages, and its parcels when there are any (pure)."""
    if found.parcels:
        main = primary(found.parcels)
        return with_case(view(main, main.scans), found)
    latest = found.stages[-1]
    stage = latest.stage
    return {
        "status": stage,
        "status_text": description(stage),
        "waybill_no": None,
        "case_no": case_no,
        "matter_name": latest.matter_name,
        "updated_at": _cn(latest.time),
        "events": [],
        "case_events": [stage_json(s) for s in found.stages],
        "parcels": [],
    }


def with_case(answer: dict, found: CitizenCase) -> dict:
    """A parcel's answer with its case's stages and every parcel of the case, by direction."""
    names = tuple(p.payload["recipient"]["name"] for p in found.parcels)
    answer["case_events"] = [stage_json(s, names) for s in found.stages]
    answer["parcels"] = [parcel_json(p) for p in sorted(found.parcels, key=lambda p: p.created_at)]
    return answer


def parcel_json(row: CitizenRow) -> dict:
    full = view(row, row.scans)
    keep = ("status", "status_text", "waybill_no", "carrier", "recipient", "destination", "reason",
            "updated_at", "events")  # fmt: skip
    return {
        "direction": row.direction,
        "direction_text": DIRECTION_TEXT.get(row.direction, row.direction),
        "delivery_method": row.delivery_method,
        **{k: full[k] for k in keep},
    }


def pickup_steps(row: CitizenRow, scans: list[CitizenScan]) -> list[dict]:
    """A counter or village point pickup's own steps (待取件, 已取件) from its moves, unless a scan
    already tells them; newest first like the scans."""
    place = PICKUP_PLACE.get(row.delivery_method)
    if place is None or row.direction == "inbound":
        return []
    told = {s.status for s in scans}
    return [
        {
            "time": _cn(s.time),
            "status": s.status,
            "status_text": STATUS_TEXT.get(s.status, s.status),
            "description": PICKUP_STEP[s.status].format(place=place),
            "location": place,
        }
        for s in reversed(row.steps)
        if s.status in PICKUP_STEP and s.status not in told
    ]


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
        "direction": row.direction,
        "carrier": carrier_text(row.delivery_method, row.direction),
        "matter_name": p["matter_name"],
        "department_name": p["department_name"],
        "completed_at": _cn(datetime.fromisoformat(p["completed_at"])),
        "recipient": {"name": mask_name(recipient["name"]), "phone": mask_phone(recipient["phone"])},
        "destination": f"{a['province']}{a['city']}{a['county']}{a.get('town', '')}",
        "reason": scrub(row.reason, names) if status in ("delivery_failed", "returned") else "",
        "updated_at": _cn(row.updated_at or row.created_at),
        "events": _newest_first(
            [
                {
                    "time": _cn(s.time),
                    "status": s.status,
                    "status_text": STATUS_TEXT.get(s.status, s.status),
                    "description": scrub(s.description, names),
                    "location": scrub(s.location, names),
                }
                for s in scans
            ],
            pickup_steps(row, scans),
        ),
    }


def _newest_first(scans: list[dict], steps: list[dict]) -> list[dict]:
    if not steps:
        return scans
    return sorted(scans + steps, key=lambda e: datetime.fromisoformat(e["time"]), reverse=True)
