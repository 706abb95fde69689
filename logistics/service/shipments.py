"""What a dispatch is to the carrier: the shipment booked under its order number."""

from __future__ import annotations

from ..domain.hall import Hall
from ..domain.model import Address, Direction, Dispatch, Party
from ..domain.village import VillagePoint, citizen_side, for_point
from ..ports import Shipment
from .deps import Deps
from .halls import origin_of


def shipment_for(d: Dispatch, origin: Hall, point: VillagePoint | None = None) -> Shipment:
    """`point`: the village point a dispatch for a point is addressed to (its address, the clerk's phone,
    the citizen's name masked beside the point's name) instead of the citizen's home."""
    hall = Party(origin.name, origin.phone)
    hall_address = Address(origin.province, origin.city, origin.county, origin.address, origin.postcode)
    outbound = d.direction is Direction.OUTBOUND
    citizen, citizen_address = citizen_side(d, point)
    return Shipment(
        order_no=d.order_no,
        order_type=2 if outbound else 1,
        sender=hall if outbound else citizen,
        sender_address=hall_address if outbound else citizen_address,
        receiver=citizen if outbound else hall,
        receiver_address=citizen_address if outbound else hall_address,
        weight_g=d.weight_g,
        declared_value_fen=d.declared_value_fen,
        contents="、".join(item.title for item in d.items)[:100],
        waybill_no=d.waybill_no,
    )


async def shipment_of(deps: Deps, d: Dispatch) -> Shipment:
    """The shipment of `d` as its own hall sends it, to its village point when it goes to one."""
    point = None
    if for_point(d):
        async with deps.uow(read_only=True) as uow:
            point = await uow.village_points.get(d.hall, d.village_point_code or "")
    return shipment_for(d, await origin_of(deps, d.hall), point)
