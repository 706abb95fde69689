"""What a dispatch is to the carrier: the shipment booked under its order number."""

from __future__ import annotations

from ..domain.hall import Hall
from ..domain.model import Address, Direction, Dispatch, Party
from ..ports import Shipment


def shipment_for(d: Dispatch, origin: Hall) -> Shipment:
    hall = Party(origin.name, origin.phone)
    hall_address = Address(origin.province, origin.city, origin.county, origin.address, origin.postcode)
    outbound = d.direction is Direction.OUTBOUND
    return Shipment(
        order_no=d.order_no,
        order_type=2 if outbound else 1,
        sender=hall if outbound else d.recipient,
        sender_address=hall_address if outbound else d.address,
        receiver=d.recipient if outbound else hall,
        receiver_address=d.address if outbound else hall_address,
        weight_g=d.weight_g,
        declared_value_fen=d.declared_value_fen,
        contents="、".join(item.title for item in d.items)[:100],
        waybill_no=d.waybill_no,
    )
