"""Dispatch statuses (names fixed by the contract) and the one table of allowed moves."""

from __future__ import annotations

from enum import StrEnum

from .errors import InvalidTransition


class Status(StrEnum):
    RECEIVED = "received"
    BOOKING = "booking"
    BOOKED = "booked"
    BOOKING_FAILED = "booking_failed"
    LABEL_PRINTED = "label_printed"
    HANDED_OVER = "handed_over"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETURNING = "returning"
    RETURNED = "returned"
    CANCELLED = "cancelled"
    AWAITING_PICKUP = "awaiting_pickup"
    PICKED_UP = "picked_up"


S = Status
_CARRIER_MOVES = {S.IN_TRANSIT, S.OUT_FOR_DELIVERY, S.DELIVERED, S.DELIVERY_FAILED, S.RETURNING, S.RETURNED}

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.RECEIVED: frozenset({S.BOOKING, S.BOOKED, S.BOOKING_FAILED, S.CANCELLED, S.AWAITING_PICKUP}),
    S.BOOKING: frozenset({S.BOOKED, S.BOOKING_FAILED, S.CANCELLED}),
    S.BOOKING_FAILED: frozenset({S.BOOKING, S.BOOKED, S.CANCELLED}),
    # A parcel can be scanned by the courier before the hall printed or confirmed anything.
    S.BOOKED: frozenset({S.LABEL_PRINTED, S.HANDED_OVER, S.CANCELLED} | _CARRIER_MOVES),
    S.LABEL_PRINTED: frozenset({S.HANDED_OVER, S.CANCELLED} | _CARRIER_MOVES),
    S.HANDED_OVER: frozenset(_CARRIER_MOVES),
    S.IN_TRANSIT: frozenset(_CARRIER_MOVES - {S.IN_TRANSIT}),
    S.OUT_FOR_DELIVERY: frozenset(_CARRIER_MOVES - {S.IN_TRANSIT, S.OUT_FOR_DELIVERY}),
    S.DELIVERY_FAILED: frozenset({S.OUT_FOR_DELIVERY, S.DELIVERED, S.RETURNING, S.RETURNED, S.IN_TRANSIT}),
    S.RETURNING: frozenset({S.RETURNED, S.DELIVERED}),
    S.AWAITING_PICKUP: frozenset({S.PICKED_UP, S.CANCELLED}),
    S.DELIVERED: frozenset(),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
    S.PICKED_UP: frozenset(),
}

# A parcel for a village proxy point that the point receives waits there for the citizen (the carrier's
# "delivered" read as awaiting_pickup: domain.village.arrival_status), wherever "delivered" may come from.
TRANSITIONS.update({s: nxt | {S.AWAITING_PICKUP} for s, nxt in TRANSITIONS.items() if S.DELIVERED in nxt})

TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
"""No further move is possible: tracking stops here."""

BOOKED_OR_LATER = frozenset({S.BOOKED, S.LABEL_PRINTED, S.HANDED_OVER} | _CARRIER_MOVES)


def check_transition(current: Status, target: Status) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value)
