"""The carrier guard's pacing and breaker rules, on a scripted carrier (pure unit tests)."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from adapters.common.http import retry_after_seconds
from logistics.ports import CarrierThrottled, CarrierUnavailable, CircuitOpen, is_wait
from logistics.service.resilience import CircuitBreaker, GuardedCarrier, Pacer


class Scripted:
    name = "scripted"

    def __init__(self, *outcomes):
        self.outcomes, self.started = list(outcomes), []

    async def find_booking(self, order_no):
        self.started.append(time.monotonic())
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def close(self):
        pass


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < retry_after_seconds({"Retry-After": later}) <= 30
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


async def test_a_throttle_pauses_every_call_for_its_retry_after_and_never_counts_as_a_fault():
    inner = Scripted(CarrierThrottled("429", code="429", retry_after=0.3, refused=True))
    carrier = GuardedCarrier(inner, breaker=CircuitBreaker(threshold=1))
    started = time.monotonic()
    with pytest.raises(CarrierThrottled) as caught:
        await carrier.find_booking("A")
    assert is_wait(caught.value)
    await asyncio.gather(*(carrier.find_booking(f"B{i}") for i in range(3)))
    assert all(t - started >= 0.3 for t in inner.started[1:])  # the other calls waited for Retry-After
    assert carrier.breaker.state == "closed" and carrier.breaker.failures == 0


async def test_without_a_configured_rate_the_pace_adapts_to_the_carrier():
    pacer = Pacer(None, increase_per_s=0.5)
    for _ in range(4):  # four calls accepted, unpaced
        await pacer.acquire()
        pacer.accepted()
    seq = await pacer.acquire()
    pacer.throttled(seq, 0.0)
    assert pacer.rate_per_s == 4  # what the carrier accepted in the last second
    late = seq  # a call sent before the cut, throttled after it, does not cut again
    pacer.throttled(late, 0.0)
    assert pacer.rate_per_s == 4
    pacer.accepted()
    assert pacer.rate_per_s == pytest.approx(4.125)
    seq = await pacer.acquire()
    pacer.throttled(seq, 0.0)
    assert pacer.rate_per_s == pytest.approx(min(5, 4.125) * 0.75)


async def test_a_configured_rate_is_kept_and_only_paused():
    pacer = Pacer(10.0)
    seq = await pacer.acquire()
    pacer.throttled(seq, 0.2)
    assert pacer.rate_per_s == 10.0
    started = time.monotonic()
    await pacer.acquire()
    assert time.monotonic() - started >= 0.19


async def test_an_adaptive_pace_refuses_a_call_it_would_hold_too_long():
    pacer = Pacer(None, max_wait_s=0.5)
    seq = await pacer.acquire()
    pacer.throttled(seq, 2.0)
    with pytest.raises(CarrierThrottled) as caught:
        await pacer.acquire()
    assert caught.value.refused and caught.value.code == "paced" and caught.value.retry_after > 1.5


async def test_faults_open_the_breaker_and_its_refusals_are_waits():
    inner = Scripted(CarrierUnavailable("500", code="500"), CarrierUnavailable("500", code="500"))
    carrier = GuardedCarrier(inner, breaker=CircuitBreaker(threshold=2, reset_s=0.2))
    with pytest.raises(CarrierUnavailable) as first:
        await carrier.find_booking("A")
    assert not is_wait(first.value)  # a fault while the circuit is closed spends an attempt
    with pytest.raises(CarrierUnavailable) as second:
        await carrier.find_booking("A")
    assert is_wait(second.value) and second.value.retry_after == 0.2  # it opened the circuit
    with pytest.raises(CircuitOpen) as refused:
        await carrier.find_booking("A")
    assert is_wait(refused.value) and 0 < refused.value.retry_after <= 0.25
    await asyncio.sleep(0.25)
    assert await carrier.find_booking("A") is None  # the trial call closes it
    assert carrier.breaker.state == "closed"


def test_the_live_instances_shares_add_up_to_the_whole_rate_and_follow_demand():
    from logistics.jobs.instances import shares

    even = shares({"a": 30, "b": 30, "c": 30})
    assert even == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    skewed = shares({"a": 200, "b": 0, "c": 0})
    assert sum(skewed.values()) == pytest.approx(1.0)
    assert skewed["a"] > 0.9 and 0 < skewed["b"] == skewed["c"]  # an idle one still gets a little
    assert shares({"a": 0}) == {"a": 1.0}


async def test_a_new_share_applies_to_the_calls_already_waiting():
    pacer = Pacer(10.0)
    pacer.apply_share(1 / 10, live=10)  # 1 req/s
    await pacer.acquire()
    started = time.monotonic()
    waiting = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0.1)
    assert not waiting.done() and pacer.demand == 1
    pacer.apply_share(1.0)  # the others went away: 10 req/s, the waiting call goes at once
    await waiting
    assert time.monotonic() - started < 0.3


async def test_draining_sends_the_waiting_calls_back_unsent():
    pacer = Pacer(1.0)
    await pacer.acquire()
    waiting = [asyncio.create_task(pacer.acquire()) for _ in range(3)]
    await asyncio.sleep(0.05)
    pacer.drain()
    for task in waiting:
        with pytest.raises(CarrierThrottled) as caught:
            await task
        assert caught.value.code == "stopping" and caught.value.refused and is_wait(caught.value)


async def test_news_the_deployment_did_not_hear_is_told_next_time():
    pacer = Pacer(None)
    for _ in range(3):
        await pacer.acquire()
        pacer.accepted()
    pacer.throttled(await pacer.acquire(), 2.0)
    news = pacer.take_news()
    assert news.cut_to == 3 and news.accepted == 3 and news.pause_end > 0
    pacer.keep_news(news)  # the heartbeat's transaction failed
    again = pacer.take_news()
    assert (again.cut_to, again.accepted, again.pause_end) == (news.cut_to, news.accepted, news.pause_end)
