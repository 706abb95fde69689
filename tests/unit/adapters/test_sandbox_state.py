"""The simulator's pure parts: parcel paths, fault queue, number issuance, order dedupe."""

from __future__ import annotations

from datetime import datetime

import pytest

from adapters.ems.mapping import CHINA_TIME
from adapters.ems.s10 import is_valid_waybill_no
from adapters.sandbox.core import TokenBucket
from adapters.sandbox.scans import Area, path_to
from adapters.sandbox.state import SandboxState, SimError, StateConflict

AREA = Area("江西省", "吉安市", "安福县")


def fixed_now() -> datetime:
    return datetime(2026, 11, 5, 9, 0, 0, 123456, tzinfo=CHINA_TIME)


@pytest.mark.parametrize(
    ("current", "to", "path"),
    [
        ("created", "in_transit", ["handed_over", "in_transit"]),
        ("created", "delivered", ["handed_over", "in_transit", "out_for_delivery", "delivered"]),
        ("in_transit", "returned", ["out_for_delivery", "delivery_failed", "returned"]),
        ("delivery_failed", "delivered", ["out_for_delivery", "delivered"]),
        ("out_for_delivery", "out_for_delivery", []),
        ("delivered", "returned", None),
        ("cancelled", "handed_over", None),
        ("in_transit", "handed_over", None),
    ],
)
def test_parcel_paths(current, to, path):
    assert path_to(current, to) == path


def test_scans_get_distinct_whole_second_times_on_a_frozen_clock():
    state = SandboxState(fixed_now)
    order, _ = state.create_order("RES1", 2, 200, AREA, AREA)
    _, scans = state.advance(order.waybill_no, "in_transit")
    times = [scan.time for scan in scans]
    assert len(set(times)) == len(times) == 5 and all(t.microsecond == 0 for t in times)
    with pytest.raises(StateConflict):
        state.advance(order.waybill_no, "handed_over")


def test_orders_are_deduplicated_by_order_number():
    state = SandboxState(fixed_now)
    first, new = state.create_order("RES1", 2, 200, AREA, AREA)
    again, new_again = state.create_order("RES1", 1, 999, AREA, AREA)
    assert new and not new_again and again is first
    assert len(state.orders()) == 1


def test_faults_are_consumed_in_order_and_wildcards_match_everything():
    state = SandboxState(fixed_now)
    state.add_fault("create_order", "http_500", 2)
    state.add_fault("*", "busy", 1)
    assert [state.take_fault("create_order") for _ in range(4)] == ["http_500", "http_500", "busy", None]
    with pytest.raises(StateConflict):
        state.add_fault("trace", "explode", 1)


def test_numbers_are_valid_and_run_out_with_e029():
    state = SandboxState(fixed_now, number_capacity=5)
    numbers = state.allocate(4)
    assert all(is_valid_waybill_no(n) for n in numbers)
    state.create_order("RES1", 2, 200, AREA, AREA)
    with pytest.raises(SimError) as caught:
        state.allocate(1)
    assert caught.value.code == "E029"


def test_token_bucket_throttles_and_says_how_long_to_wait():
    clock = iter([0.0, 0.0, 0.0, 0.1, 1.0])
    bucket = TokenBucket(1.0, monotonic=lambda: next(clock))
    assert bucket.take() is None
    assert bucket.take() == pytest.approx(1.0)
    assert bucket.take() == pytest.approx(0.9)
    assert bucket.take() is None
