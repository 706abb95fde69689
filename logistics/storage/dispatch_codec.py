"""Dispatches and audit events <-> rows of `dispatches` and `dispatch_events`.

The storage's own format: the API's JSON may change without changing the disk. The payload column
keeps the parts of a dispatch that have no column of their own, its keys in this order (existing
databases hold exactly this JSON)."""

from __future__ import annotations

from datetime import datetime

from ..domain.cause import read_cause
from ..domain.masking import phone_last4
from ..domain.model import Address, AuditEvent, DeliveryMethod, Direction, Dispatch, Item, Party
from ..domain.status import Status


def payload(d: Dispatch) -> dict:
    """The payload column of a dispatch."""
    r, a = d.recipient, d.address
    return {
        "matter_name": d.matter_name,
        "matter_code": d.matter_code,
        "department_name": d.department_name,
        "recipient": {"name": r.name, "phone": r.phone},
        "address": {
            "province": a.province,
            "city": a.city,
            "county": a.county,
            "town": a.town,
            "detail": a.detail,
            "postcode": a.postcode,
        },
        "items": [
            {"kind": i.kind, "title": i.title, "number": i.number, "copies": i.copies} for i in d.items
        ],
        "weight_g": d.weight_g,
        "declared_value_fen": d.declared_value_fen,
        "completed_at": d.completed_at.isoformat(),
        "village_point_code": d.village_point_code,
    }


def dispatch_row(d: Dispatch, request_hash: str, response: dict) -> dict:
    """The row of a new dispatch; `response` is the first answer to its intake (replayed to repeats)."""
    return dict(
        id=d.id,
        client_id=d.client_id,
        case_no=d.case_no,
        request_hash=request_hash,
        payload=payload(d),
        response=response,
        status=d.status.value,
        direction=d.direction.value,
        delivery_method=d.delivery_method.value,
        department_code=d.department_code,
        phone_last4=phone_last4(d.recipient.phone),
        order_no=d.order_no,
        waybill_no=d.waybill_no,
        reason=d.reason,
        created_at=d.created_at,
        updated_at=d.created_at,
        hall=d.hall,
    )


def dispatch_from_row(row) -> Dispatch:
    p = row.payload
    return Dispatch(
        id=row.id,
        client_id=row.client_id,
        case_no=row.case_no,
        matter_name=p["matter_name"],
        matter_code=p["matter_code"],
        department_code=row.department_code,
        department_name=p["department_name"],
        direction=Direction(row.direction),
        delivery_method=DeliveryMethod(row.delivery_method),
        recipient=Party(**p["recipient"]),
        address=Address(**p["address"]),
        items=tuple(Item(**i) for i in p["items"]),
        weight_g=p["weight_g"],
        declared_value_fen=p["declared_value_fen"],
        completed_at=datetime.fromisoformat(p["completed_at"]),
        created_at=row.created_at,
        status=Status(row.status),
        village_point_code=p.get("village_point_code"),
        order_no=row.order_no,
        waybill_no=row.waybill_no,
        reason=row.reason,
        updated_at=row.updated_at,
        hall=row.hall,
    )


def event_row(dispatch_id: str, event: AuditEvent) -> dict:
    return dict(
        dispatch_id=dispatch_id,
        at=event.at,
        actor=event.actor,
        cause=event.recorded_cause,
        from_status=event.from_status.value if event.from_status else None,
        to_status=event.to_status.value if event.to_status else None,
        detail=event.detail,
    )


def event_from_row(r) -> AuditEvent:
    cause, scan = read_cause(r.cause)
    return AuditEvent(
        r.at,
        r.actor,
        cause,
        Status(r.from_status) if r.from_status else None,
        Status(r.to_status) if r.to_status else None,
        r.detail,
        scan,
    )
