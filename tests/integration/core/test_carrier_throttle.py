"""A carrier that answers a burst with 429 is asking us to slow down: with no rate configured we find
its pace, honour its Retry-After, and book every dispatch exactly once without opening the breaker."""

import logging
import time

import pytest

from tests.integration.core.test_booking_flow import KINDS, Stack


@pytest.fixture(params=KINDS)
async def limited(request, tmp_path):
    # CERTPOST_CARRIER_RATE_PER_S unset; the default lease (60 s) leaves room to wait for the pace
    s = await Stack().start(tmp_path, request.param, rate_limit_per_s=2, lease_s=60)
    yield s
    await s.stop()


async def test_a_burst_against_a_carrier_limited_to_2_per_s_is_all_booked_once(limited, caplog):
    caplog.set_level(logging.INFO, logger="certpost")
    started = time.monotonic()
    ids = [(await limited.submit(f"RL-{i}"))["id"] for i in range(20)]
    states = await limited.settle(ids, wait_s=60)
    assert [s["status"] for s in states] == ["booked"] * 20, {s["reason"] for s in states}
    orders = (await limited.control("GET", "/orders"))["orders"]
    assert len(orders) == 20 == len({o["order_no"] for o in orders})  # each booked exactly once
    assert {s["waybill_no"] for s in states} == {o["waybill_no"] for o in orders}
    throttles = [r for r in caplog.records if "throttled us" in r.getMessage()]
    assert throttles, "the simulator did not throttle: the test proves nothing"
    assert limited.carrier.breaker.failures == 0
    assert not [r for r in caplog.records if "circuit opened" in r.getMessage()]
    assert not [r for r in caplog.records if "TimeoutError" in r.getMessage()]  # no job outran its lease
    print(f"20 booked in {time.monotonic() - started:.1f} s, {len(throttles)} throttles")
