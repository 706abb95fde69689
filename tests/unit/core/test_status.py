from datetime import UTC, datetime

import pytest

from logistics.domain.cause import Cause
from logistics.domain.errors import InvalidTransition
from logistics.domain.status import TERMINAL, TRANSITIONS, Status, check_transition
from tests.fixtures.dispatches import make_dispatch

AT = datetime(2026, 11, 6, tzinfo=UTC)


def test_every_contract_status_has_a_row():
    names = {
        "received", "booking", "booked", "booking_failed", "label_printed", "handed_over", "in_transit",
        "out_for_delivery", "delivered", "delivery_failed", "returning", "returned", "cancelled",
        "awaiting_pickup", "picked_up",
    }  # fmt: skip
    assert {s.value for s in Status} == names
    assert set(TRANSITIONS) == set(Status)


def test_terminal_statuses_go_nowhere():
    assert TERMINAL == {Status.DELIVERED, Status.RETURNED, Status.CANCELLED, Status.PICKED_UP}
    for s in TERMINAL:
        for t in Status:
            with pytest.raises(InvalidTransition):
                check_transition(s, t)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.DELIVERED, Status.IN_TRANSIT),  # a late scan never moves a delivered parcel back
        (Status.OUT_FOR_DELIVERY, Status.IN_TRANSIT),
        (Status.HANDED_OVER, Status.CANCELLED),  # the courier has it: cancel at the carrier, not here
        (Status.RECEIVED, Status.DELIVERED),
        (Status.AWAITING_PICKUP, Status.DELIVERED),
    ],
)
def test_invalid_moves_are_errors(current, target):
    with pytest.raises(InvalidTransition):
        check_transition(current, target)


def test_a_move_returns_the_new_dispatch_and_its_audit_event():
    d = make_dispatch()
    booked, event = d.moved(
        Status.BOOKED, at=AT, actor="system", cause=Cause.BOOKED, waybill_no="1100000000111"
    )
    assert (booked.status, booked.waybill_no, booked.updated_at) == (Status.BOOKED, "1100000000111", AT)
    assert (event.from_status, event.to_status, event.actor, event.cause) == (
        Status.RECEIVED, Status.BOOKED, "system", Cause.BOOKED,
    )  # fmt: skip
    assert d.status is Status.RECEIVED  # the original is untouched


def test_an_invalid_move_leaves_no_event():
    with pytest.raises(InvalidTransition):
        make_dispatch().moved(Status.DELIVERED, at=AT, actor="x", cause=Cause.INTAKE)
