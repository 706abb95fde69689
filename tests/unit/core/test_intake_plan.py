"""The intake planner: no I/O, the same for one request and a batch."""

from logistics.domain.errors import Conflict
from logistics.domain.model import DeliveryMethod, Direction
from logistics.domain.status import Status
from logistics.service.intake import IntakeRequest, plan_intake
from logistics.service.views import dispatch_json
from tests.fixtures.dispatches import NOW, make_dispatch


def req(case_no, h="h", *, auto_book=True, **over):
    return IntakeRequest(make_dispatch(case_no, **over), h, NOW, auto_book, 5)


def test_a_new_case_is_created_with_its_audit_trail_and_booking_job():
    r = req("P1")
    plan = plan_intake([r], {})
    (case,) = plan.new
    assert case.dispatch == r.dispatch and case.response == dispatch_json(r.dispatch)
    assert [(e.cause, e.to_status) for e in case.events] == [("intake", Status.RECEIVED)]
    assert case.job == ("book", {"dispatch_id": r.dispatch.id}, f"book:{r.dispatch.id}")
    assert (case.now, case.max_attempts) == (NOW, 5)
    (result,) = plan.results
    assert (result.created, result.queued, result.response) == (True, True, case.response)


def test_stored_cases_are_replayed_or_conflict_and_write_nothing():
    stored = {("approval", "P2", "outbound"): ("h", {"id": "first"})}
    plan = plan_intake([req("P2"), req("P2", "other")], stored)
    assert plan.new == []
    assert (plan.results[0].created, plan.results[0].response) == (False, {"id": "first"})
    assert isinstance(plan.results[1], Conflict)


def test_repeats_within_a_batch_replay_the_first():
    plan = plan_intake([req("P3"), req("P3"), req("P3", "other")], {})
    assert len(plan.new) == 1
    first, again, other = plan.results
    assert first.created and not again.created and again.response is first.response
    assert isinstance(other, Conflict)


def test_no_booking_without_auto_booking_or_for_a_self_pickup_whose_code_goes_out_at_once():
    pickup = req("P4", delivery_method=DeliveryMethod.PICKUP)
    plan = plan_intake([req("P5", auto_book=False), pickup], {})
    d = plan.new[1].dispatch
    at = pickup.now.isoformat()
    assert [c.job for c in plan.new] == [
        None,
        ("pickup_code", {"dispatch_id": d.id, "at": at}, f"pickup_code:{d.id}:{at}"),
    ]
    assert [r.queued for r in plan.results] == [False, True]
    assert plan.new[1].dispatch.status is Status.AWAITING_PICKUP
    assert [e.to_status for e in plan.new[1].events] == [Status.RECEIVED, Status.AWAITING_PICKUP]


def test_an_inbound_self_pickup_is_booked():
    plan = plan_intake([req("P6", delivery_method=DeliveryMethod.PICKUP, direction=Direction.INBOUND)], {})
    assert plan.new[0].job is not None


def test_the_plan_leaves_the_stored_cases_it_was_given_alone():
    stored = {}
    plan_intake([req("P7")], stored)
    assert stored == {}


def test_both_directions_of_one_case_are_two_dispatches_each_replayed_on_its_own():
    inbound = dict(direction=Direction.INBOUND)
    stored = {("approval", "P8", "inbound"): ("h-in", {"id": "collect"})}
    plan = plan_intake(
        [req("P8", "h-out"), req("P8", "h-in", **inbound), req("P8", "h-x", **inbound)], stored
    )
    (case,) = plan.new
    assert case.dispatch.direction is Direction.OUTBOUND
    created, replay, conflict = plan.results
    assert created.created and (replay.created, replay.response) == (False, {"id": "collect"})
    assert isinstance(conflict, Conflict) and "inbound" in str(conflict)
