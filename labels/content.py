"""What a label says, derived from a dispatch: the citizen's side masked, the hall's side in full.

Shared by the PDF and ZPL renderers so both print the same words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from logistics.domain.errors import Conflict
from logistics.domain.hall import Hall
from logistics.domain.masking import mask_address, mask_name, mask_phone
from logistics.domain.model import Address, Direction, Dispatch, Item
from logistics.domain.village import VillagePoint, for_point

PRODUCT = "政务专递"
PAYMENT = "寄付月结"
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市")
_CITY_SUFFIXES = ("地区", "自治州", "盟", "市")


class NotBooked(Conflict):
    """A label needs a waybill number; the dispatch has none yet."""


@dataclass(frozen=True)
class PartyLines:
    head: str  # name and phone
    address: str
    postcode: str


@dataclass(frozen=True)
class LabelContent:
    waybill_no: str
    sorting: str  # 大头笔: destination province, city and county
    destination_town: str
    recipient: PartyLines
    sender: PartyLines
    case_no: str
    matter: str
    items: str
    weight: str
    declared_value: str
    tracking_url: str
    inbound: bool


def sender_of(origin: Hall | Mapping[str, Hall], dispatch: Dispatch) -> Hall:
    """The hall printed as sender: `origin`, or from a {hall code: Hall} mapping the dispatch's own hall."""
    return origin[dispatch.hall] if isinstance(origin, Mapping) else origin


Points = Mapping[tuple[str, str], VillagePoint]
"""The village points parcels are addressed to, by (hall, code)."""


def point_of(dispatch: Dispatch, points: Points | None) -> VillagePoint | None:
    """The village point a dispatch for a point goes to, when it has an address to print."""
    if not points or not for_point(dispatch):
        return None
    point = points.get((dispatch.hall, dispatch.village_point_code or ""))
    return point if point is not None and point.addressable else None


def label_content(
    dispatch: Dispatch, origin: Hall | Mapping[str, Hall], public_url: str, points: Points | None = None
) -> LabelContent:
    """`points`: a parcel for a village point is addressed to the point (its name, town and address, the
    clerk's phone masked), the citizen named only masked, beside the point's name."""
    origin = sender_of(origin, dispatch)
    if not dispatch.waybill_no:
        raise NotBooked(f"寄递单 {dispatch.case_no} 尚未取得运单号")
    point = point_of(dispatch, points)
    if point is not None:
        citizen = _point_lines(dispatch.recipient.name, point)
        citizen_address = point.address
    else:
        citizen = _citizen_lines(dispatch.recipient.name, dispatch.recipient.phone, dispatch.address)
        citizen_address = dispatch.address
    hall = _hall_lines(origin)
    inbound = dispatch.direction is Direction.INBOUND
    destination = origin.postal_address if inbound else citizen_address
    return LabelContent(
        waybill_no=dispatch.waybill_no,
        sorting=sorting_text(destination.province, destination.city, destination.county),
        destination_town=point.town if point is not None and not inbound else destination.town,
        recipient=hall if inbound else citizen,
        sender=citizen if inbound else hall,
        case_no=dispatch.case_no,
        matter=dispatch.matter_name,
        items=items_text(dispatch.items),
        weight=f"{dispatch.weight_g / 1000:.3f} kg",
        declared_value=f"{dispatch.declared_value_fen / 100:.2f} 元" if dispatch.declared_value_fen else "无",
        tracking_url=tracking_url(public_url, dispatch.waybill_no),
        inbound=inbound,
    )


def tracking_url(public_url: str, waybill_no: str) -> str:
    return f"{public_url.rstrip('/')}/track?waybill_no={waybill_no}"


@lru_cache(maxsize=4096)
def _citizen_lines(name: str, phone: str, address: Address) -> PartyLines:
    head = f"{mask_name(name)}  {mask_phone(phone)}"
    place = f"{address.province}{address.city}{address.county}{address.town}"
    return PartyLines(head, place + mask_address(address.detail), address.postcode)


def _point_lines(citizen_name: str, point: VillagePoint) -> PartyLines:
    a = point.address
    head = f"{mask_name(citizen_name)}（{point.name}）  {mask_phone(point.clerk_phone)}"
    town = a.town or point.town
    return PartyLines(head, f"{a.province}{a.city}{a.county}{town}{a.detail}", a.postcode)


@lru_cache(maxsize=16)
def _hall_lines(origin: Hall) -> PartyLines:
    place = f"{origin.province}{origin.city}{origin.county}{origin.address}"
    return PartyLines(f"{origin.name}  {origin.phone}", place, origin.postcode)


@lru_cache(maxsize=1024)
def sorting_text(province: str, city: str, county: str) -> str:
    parts = (_short(province, _PROVINCE_SUFFIXES), _short(city, _CITY_SUFFIXES), county)
    return " ".join(part for part in parts if part)


def _short(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def items_text(items: tuple[Item, ...]) -> str:
    return "；".join(f"{item.title}×{item.copies}" for item in items) or "文件"
