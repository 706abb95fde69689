"""The contract's JSON representation of a dispatch (staff and the owning client)."""

from __future__ import annotations

from ..domain.masking import mask_address, mask_name, mask_phone
from ..domain.model import Address, AuditEvent, Dispatch, Item, Party


def party_json(p: Party) -> dict:
    return {"name": p.name, "phone": p.phone}


def address_json(a: Address) -> dict:
    return {
        "province": a.province, "city": a.city, "county": a.county, "town": a.town, "detail": a.detail,
        "postcode": a.postcode,
    }  # fmt: skip


def item_json(i: Item) -> dict:
    return {"kind": i.kind, "title": i.title, "number": i.number, "copies": i.copies}


def dispatch_json(d: Dispatch) -> dict:
    created_at = d.created_at.isoformat()
    updated = d.updated_at
    updated_at = created_at if updated is None or updated is d.created_at else updated.isoformat()
    return {
        "id": d.id,
        "case_no": d.case_no,
        "status": d.status.value,
        "waybill_no": d.waybill_no,
        "order_no": d.order_no,
        "reason": d.reason,
        "direction": d.direction.value,
        "delivery_method": d.delivery_method.value,
        "matter_name": d.matter_name,
        "matter_code": d.matter_code,
        "department_code": d.department_code,
        "department_name": d.department_name,
        "recipient": party_json(d.recipient),
        "address": address_json(d.address),
        "village_point_code": d.village_point_code,
        "items": [item_json(i) for i in d.items],
        "weight_g": d.weight_g,
        "declared_value_fen": d.declared_value_fen,
        "completed_at": d.completed_at.isoformat(),
        "created_at": created_at,
        "updated_at": updated_at,
        "hall": d.hall,
    }


def masked_dispatch_json(d: Dispatch) -> dict:
    """A dispatch for readers whose work needs no recipient (finance): name, phone and the house and
    room part of the address masked as on a label (隐私面单); the county, for costs, stays."""
    return {
        **dispatch_json(d),
        "recipient": {"name": mask_name(d.recipient.name), "phone": mask_phone(d.recipient.phone)},
        "address": {**address_json(d.address), "detail": mask_address(d.address.detail)},
    }


def event_json(e: AuditEvent) -> dict:
    return {
        "at": e.at.isoformat(),
        "actor": e.actor,
        "cause": e.recorded_cause,
        "from_status": e.from_status.value if e.from_status else None,
        "to_status": e.to_status.value if e.to_status else None,
        "detail": e.detail,
    }
