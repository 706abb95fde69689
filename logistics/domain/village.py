"""Village proxy points (乡村代办点): a hall's registry of points, what a point's details must be, and how
a parcel for a point is addressed (to the point, the citizen named only masked). Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from .masking import mask_name
from .model import DEFAULT_HALL, Address, DeliveryMethod, Direction, Dispatch, Party
from .status import Status
from .validation import is_phone, is_postcode, normalize_phone, text_problem

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
ADDRESS_FIELDS = ("province", "city", "county", "town", "detail", "postcode")
FIELDS = ("code", "name", "town", "clerk_name", "clerk_phone")
_LIMITS = {"code": 64, "name": 60, "town": 60, "clerk_name": 40, "clerk_phone": 20}
LABELS = {
    "code": "代办点编码", "name": "代办点名称", "town": "所属乡镇", "clerk_name": "经办人",
    "clerk_phone": "经办人电话", "address": "地址", "address.province": "省", "address.city": "市",
    "address.county": "县（区）", "address.town": "地址中的乡镇", "address.detail": "详细地址",
    "address.postcode": "邮编",
}  # fmt: skip
"""Each field's name as staff read it: every message names its field."""
_ADDRESS_LIMITS = {"province": 40, "city": 40, "county": 40, "town": 60, "detail": 200, "postcode": 6}


@dataclass(frozen=True)
class VillagePoint:
    code: str
    name: str
    town: str
    address: Address
    clerk_name: str
    clerk_phone: str
    active: bool = True
    hall: str = DEFAULT_HALL
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def addressable(self) -> bool:
        """Whether a parcel can be booked to it (a point registered from old dispatches may have none)."""
        a = self.address
        return bool(a.province and a.city and a.county and a.detail)


def point_problems(values: Mapping[str, object], *, partial: bool = False) -> list[tuple[str, str]]:
    """What is wrong with a point's details, as (field, message); `partial`: only the fields given."""
    problems: list[tuple[str, str]] = []
    for name in FIELDS:
        if partial and name not in values:
            continue
        problems += _text(name, values.get(name), _LIMITS[name])
    code = values.get("code")
    if isinstance(code, str) and code and not problems_for(problems, "code") and not CODE.match(code):
        problems.append(("code", "代办点编码只能由字母、数字、- 和 _ 组成，以字母或数字开头（最多 64 位）"))
    phone = values.get("clerk_phone")
    if isinstance(phone, str) and phone and not problems_for(problems, "clerk_phone") and not is_phone(phone):
        problems.append(("clerk_phone", "经办人电话：格式不对（手机号或固定电话）"))
    if partial and "address" not in values:
        return problems
    address = values.get("address")
    if not isinstance(address, Mapping):
        return [*problems, ("address", "地址：请填写代办点地址（省、市、县、乡镇、详细地址、邮编）")]
    for name in ADDRESS_FIELDS:
        required = name not in ("town",)
        problems += _text(f"address.{name}", address.get(name), _ADDRESS_LIMITS[name], required=required)
    postcode = address.get("postcode")
    if isinstance(postcode, str) and postcode and not is_postcode(postcode.strip()):
        problems.append(("address.postcode", "邮编：应为 6 位数字"))
    return problems


def problems_for(problems: list[tuple[str, str]], field: str) -> bool:
    return any(f == field for f, _ in problems)


def _text(field: str, value: object, limit: int, *, required: bool = True) -> list[tuple[str, str]]:
    label = LABELS[field]
    if value is None or (isinstance(value, str) and not value.strip()):
        return [(field, f"{label}：必填")] if required else []
    if not isinstance(value, str):
        return [(field, f"{label}：应为文本")]
    value = value.strip()
    if len(value) > limit:
        return [(field, f"{label}：最多 {limit} 个字")]
    problem = text_problem(value)
    return [(field, f"{label}：{problem}")] if problem else []


def point_from(values: Mapping[str, object], *, hall: str, now: datetime) -> VillagePoint:
    """A point from details `point_problems` found nothing wrong with."""
    address = values["address"]
    assert isinstance(address, Mapping)
    a = {k: str(address.get(k) or "").strip() for k in ADDRESS_FIELDS}
    return VillagePoint(
        code=str(values["code"]).strip(),
        name=str(values["name"]).strip(),
        town=str(values["town"]).strip(),
        address=Address(a["province"], a["city"], a["county"], a["detail"], a["postcode"], a["town"]),
        clerk_name=str(values["clerk_name"]).strip(),
        clerk_phone=normalize_phone(str(values["clerk_phone"])),
        hall=hall,
        created_at=now,
        updated_at=now,
    )


def updated(point: VillagePoint, values: Mapping[str, object], *, now: datetime) -> VillagePoint:
    """`point` with the details given in `values` (checked with `partial=True`); the code never changes."""
    merged = point_json(point) | {k: v for k, v in values.items() if k in (*FIELDS, "address")}
    merged["code"] = point.code
    fresh = point_from(merged, hall=point.hall, now=now)
    active = values.get("active", point.active)
    return replace(fresh, active=bool(active), created_at=point.created_at)


def point_json(point: VillagePoint) -> dict:
    a = point.address
    return {
        "code": point.code,
        "name": point.name,
        "town": point.town,
        "address": {
            "province": a.province, "city": a.city, "county": a.county, "town": a.town,
            "detail": a.detail, "postcode": a.postcode,
        },
        "clerk_name": point.clerk_name,
        "clerk_phone": point.clerk_phone,
        "active": point.active,
        "hall": point.hall,
        "created_at": point.created_at.isoformat() if point.created_at else None,
        "updated_at": point.updated_at.isoformat() if point.updated_at else None,
    }  # fmt: skip


# ---- a parcel for a point -----------------------------------------------------------------------


def for_point(d: Dispatch) -> bool:
    return d.delivery_method is DeliveryMethod.VILLAGE_POINT and bool(d.village_point_code)


def receiver_name(citizen_name: str, point: VillagePoint) -> str:
    """The name the carrier and the label see: the citizen's masked, then the point's.

    欧阳小明 at 严田村代办点: 欧**明（严田村代办点）."""
    return f"{mask_name(citizen_name)}（{point.name}）"


def citizen_side(d: Dispatch, point: VillagePoint | None) -> tuple[Party, Address]:
    """Who and where the citizen's side of the parcel is for the carrier: the point (its address, the
    clerk's phone, the citizen's name masked beside the point's) when it is for a point that has an
    address; else the citizen's own."""
    if point is None or not for_point(d) or not point.addressable:
        return d.recipient, d.address
    return Party(receiver_name(d.recipient.name, point), point.clerk_phone), point.address


def arrival_status(d: Dispatch, carrier_status: Status) -> Status:
    """What a carrier's scan means for the dispatch: "delivered" to a village point is the point receiving
    it, and the parcel waits there for the citizen (awaiting_pickup) until the clerk hands it over."""
    if carrier_status is Status.DELIVERED and for_point(d) and d.direction is Direction.OUTBOUND:
        return Status.AWAITING_PICKUP
    return carrier_status
