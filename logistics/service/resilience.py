"""Guards around one carrier: a concurrency limit, a pacer and a circuit breaker.

The guarded gateway has the same interface, so use cases do not know it is there. A throttle (HTTP 429,
"busy") is the carrier asking us to slow down: the pacer honours its Retry-After for every call and, when
no rate is configured, finds the carrier's pace by itself; the breaker counts faults only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..ports import (
    CarrierAuthError,
    CarrierError,
    CarrierGateway,
    CarrierThrottled,
    CarrierUnavailable,
    CircuitOpen,
    is_wait,
)
from .job_contract import RetryLater

log = logging.getLogger("certpost.carrier")


@dataclass
class PaceNews:
    """What one instance's pacer learned since the deployment last heard from it (see `Pacer.take_news`)."""

    cut_to: float | None = None
    """A deployment-wide rate this instance's throttles call for (its cut pace over its share)."""
    pause_end: float = 0.0
    """Monotonic time until which the carrier asked us to wait (Retry-After)."""
    accepted: int = 0


class Pacer:
    """Paces the calls to one carrier.

    With a configured rate, calls are spaced at it. Without one, calls go out unpaced until the carrier
    first throttles us; from then on the pace adapts (AIMD): the first throttle sets it to the calls the
    carrier accepted in the last second, later ones cut that by `decrease` (once per round: throttles of
    calls sent before a cut do not cut again); each accepted call adds `increase_per_s / rate`, about
    `increase_per_s` per second of calls. Only a rate-limit answer (HTTP 429) cuts the pace; every
    throttle (429, "busy") pauses all calls for its Retry-After, the waiting ones keeping their order
    and spacing. While the pace adapts, a call that would wait longer than `max_wait_s` is not queued:
    it fails at once with a local throttle (nothing sent), to be tried again later (a job's lease runs
    while it waits). A configured rate queues every call.

    Several instances share one carrier (jobs/instances.py): each pacer then runs at its `fraction` of the
    deployment's rate (`apply_share`, recomputed as instances come and go), and what it learns (a cut, a
    Retry-After, accepted calls) is handed to the deployment (`take_news`). Calls wait in order; a changed
    rate or pause applies to the waiting ones at once."""

    def __init__(
        self,
        rate_per_s: float | None = None,
        *,
        name: str = "carrier",
        max_wait_s: float = 4.0,
        min_rate_per_s: float = 1.0,
        increase_per_s: float = 0.5,
        decrease: float = 0.75,
        default_pause_s: float = 1.0,
    ):
        self.name = name
        self.adaptive = rate_per_s is None
        self.configured = rate_per_s
        self.rate_per_s = rate_per_s  # this instance's pace; None: unpaced
        self.fraction = 1.0  # this instance's share of the deployment's rate
        self._live = 1  # instances sharing the carrier
        self._deployment_rate: float | None = None  # the rate they learned together (adaptive)
        self.max_wait_s, self.min_rate_per_s = max_wait_s, min_rate_per_s
        self.increase_per_s, self.decrease, self.default_pause_s = increase_per_s, decrease, default_pause_s
        self.waiting = 0  # calls waiting for their turn
        self.queued = 0  # calls waiting to get in line (the guarded carrier's concurrency limit)
        self.draining = False  # shutting down: no call starts any more
        self.on_news: Callable[[], None] | None = None  # told when a throttle should reach the others soon
        self._news = PaceNews()
        self._next = 0.0  # earliest start of the next call
        self._last_start = 0.0
        self._resume_at = 0.0  # no call starts before this (Retry-After)
        self._turn = asyncio.Lock()  # FIFO: calls start in the order they came
        self._changed = asyncio.Event()  # the rate or the pause changed: waiting calls look again
        self._sent = 0  # calls let through so far: their sequence numbers
        self._cut_after = -1  # calls up to this number were sent before the last rate cut
        self._accepted: deque[float] = deque(maxlen=256)  # when recent calls were accepted (adaptive)

    @property
    def demand(self) -> int:
        """Calls this instance has waiting for the carrier: its claim on the deployment's rate."""
        return self.waiting + self.queued

    def _expected_wait(self, now: float) -> float:
        queued = self.waiting / self.rate_per_s if self.rate_per_s else 0.0
        return max(0.0, max(self._next, self._resume_at) - now) + queued

    async def acquire(self) -> int:
        """Wait for this call's turn; returns its sequence number (for `throttled`)."""
        if self.adaptive:
            wait = self._expected_wait(time.monotonic())
            if wait > self.max_wait_s:
                raise CarrierThrottled(
                    f"{self.name}: the carrier's pace has no room for this call now", code="paced",
                    retry_after=wait, refused=True,
                )  # fmt: skip
        self.waiting += 1
        try:
            async with self._turn:
                while True:
                    if self.draining:
                        raise CarrierThrottled(
                            f"{self.name}: this instance is stopping", code="stopping", retry_after=0.0,
                            refused=True,
                        )  # fmt: skip
                    now = time.monotonic()
                    start = max(self._next, self._resume_at)
                    if start <= now:
                        break
                    self._changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), start - now)
                if self.rate_per_s:
                    interval = 1.0 / self.rate_per_s
                    on_time = self._next >= self._resume_at and now - self._next < interval
                    self._next = (
                        self._next if on_time else now
                    ) + interval  # late timers do not slow the pace
                self._last_start = now
        finally:
            self.waiting -= 1
        self._sent += 1
        return self._sent

    def _set_rate(self, rate_per_s: float | None) -> None:
        if rate_per_s == self.rate_per_s:
            return
        self.rate_per_s = rate_per_s
        self._next = self._last_start + 1.0 / rate_per_s if rate_per_s else 0.0
        self._changed.set()

    def _pause(self, pause_s: float, now: float) -> None:
        if now + pause_s > self._resume_at:
            self._resume_at = now + pause_s
            self._changed.set()

    def accepted(self) -> None:
        if self.adaptive:
            self._accepted.append(time.monotonic())
            self._news.accepted += 1
            if self.rate_per_s:
                self.rate_per_s += self.increase_per_s / self.rate_per_s

    def throttled(self, seq: int, retry_after: float | None, *, slow_down: bool = True) -> None:
        """Call `seq` was throttled: pause every call for `retry_after`; with `slow_down` (a rate limit
        answer, HTTP 429) an adaptive pace is cut too."""
        now = time.monotonic()
        pause = retry_after if retry_after is not None else self.default_pause_s
        self._pause(pause, now)
        self._news.pause_end = max(self._news.pause_end, now + pause)
        if not (self.adaptive and slow_down) or seq <= self._cut_after:
            log.info("carrier %s throttled us; paused %.1f s", self.name, pause)
            self._tell()
            return
        accepted = sum(1 for t in self._accepted if t > now - 1.0)  # in the last second
        if self._live > 1:  # one of several instances: cut the deployment's rate, then take our share
            learned = self._deployment_rate
            total = accepted * self._live if learned is None else learned * self.decrease
            self._news.cut_to = max(self.min_rate_per_s, total)
            self._set_rate(self._news.cut_to * self.fraction)
        else:
            # First throttle: go at what the carrier accepted; later ones cut that by a quarter.
            pace = accepted if self.rate_per_s is None else min(accepted, self.rate_per_s) * self.decrease
            self._set_rate(max(self.min_rate_per_s, pace))
            self._news.cut_to = self.rate_per_s
        self._cut_after = self._sent
        cut = "carrier %s throttled us: pace cut to %.2f req/s, paused %.1f s"
        log.warning(cut, self.name, self.rate_per_s, pause)
        self._tell()

    def _tell(self) -> None:
        if self.on_news is not None:
            self.on_news()

    def drain(self) -> None:
        """Shutting down: the calls waiting for their turn fail at once with a local throttle (nothing
        sent), so their jobs go back to the queue for another instance."""
        self.draining = True
        self._changed.set()

    # ---- one carrier for several instances (driven by jobs/instances.py) ----

    def take_news(self) -> PaceNews:
        news, self._news = self._news, PaceNews()
        return news

    def keep_news(self, news: PaceNews) -> None:
        """News taken but not delivered (the database was away): hand it over with the next."""
        fresh = self._news
        fresh.cut_to = fresh.cut_to if fresh.cut_to is not None else news.cut_to
        fresh.pause_end = max(fresh.pause_end, news.pause_end)
        fresh.accepted += news.accepted

    def apply_share(
        self, fraction: float, *, live: int = 1, deployment_rate: float | None = None, pause_s: float = 0.0
    ) -> None:
        """Run at `fraction` of the deployment's rate: the configured one, or (adaptive) the one learned by
        all instances (None: none learned yet, keep ours); pause for `pause_s` (a Retry-After another
        instance was given)."""
        self.fraction = max(1e-6, min(1.0, fraction))
        if deployment_rate != self._deployment_rate:  # a new round: throttles of calls sent before it
            self._cut_after = max(self._cut_after, self._sent)  # were answers to the old rate
        self._live, self._deployment_rate = max(1, live), deployment_rate
        if not self.adaptive:
            self._set_rate(self.configured * self.fraction)
        elif deployment_rate is not None:
            self._set_rate(max(self.min_rate_per_s, deployment_rate) * self.fraction)
        if pause_s > 0:
            self._pause(pause_s, time.monotonic())


class CircuitBreaker:
    """Opens after `threshold` faults in a row; lets one trial call through after `reset_s`. While the trial
    is out, callers are told to come back after `trial_wait_s` (it may close the circuit any moment)."""

    def __init__(self, threshold: int = 5, reset_s: float = 30.0, *, trial_wait_s: float = 2.0):
        self.threshold, self.reset_s, self.trial_wait_s = threshold, reset_s, trial_wait_s
        self.name = "carrier"
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False

    def before_call(self) -> None:
        if self.opened_at is None:
            return
        remaining = self.reset_s - (time.monotonic() - self.opened_at)
        if remaining > 0:
            wait = min(remaining, self.trial_wait_s) if self._trial else remaining
            raise CircuitOpen(
                "carrier circuit open", code="circuit_open", retry_after=wait * (1 + random.random() / 4)
            )
        self.opened_at, self._trial = time.monotonic(), True  # half-open: this call is the trial

    def record(self, ok: bool, code: str = "") -> None:
        if ok:
            if self.opened_at is not None:
                log.warning("carrier %s circuit closed", self.name)
            self.failures, self.opened_at, self._trial = 0, None, False
            return
        self.failures += 1
        if self.failures >= self.threshold:
            if self.opened_at is None:
                log.warning(
                    "carrier %s circuit opened after %d faults in a row (last: %s)",
                    self.name, self.failures, code or "-",
                )  # fmt: skip
            elif self._trial:
                log.info("carrier %s circuit stays open: trial call failed (%s)", self.name, code or "-")
            self.opened_at, self._trial = time.monotonic(), False

    @property
    def state(self) -> str:
        return "closed" if self.opened_at is None else "open"


class GuardedCarrier:
    _GUARDED = (
        "book", "find_booking", "cancel", "track", "allocate_numbers", "report_print_data", "quote",
        "check_reachable",
    )  # fmt: skip

    def __init__(
        self,
        inner: CarrierGateway,
        *,
        concurrency: int = 8,
        rate_per_s: float | None = None,
        breaker: CircuitBreaker | None = None,
        pacer: Pacer | None = None,
    ):
        self.inner = inner
        self.name = getattr(inner, "name", "carrier")
        self.semaphore = asyncio.Semaphore(concurrency)
        self.pacer = pacer or Pacer(rate_per_s, name=self.name)
        self.breaker = breaker or CircuitBreaker()
        self.breaker.name = self.name

    def __getattr__(self, op: str):
        if op not in self._GUARDED:
            return getattr(self.inner, op)
        call = getattr(self.inner, op)
        breaker, pacer = self.breaker, self.pacer

        async def guarded(*args, **kwargs):
            breaker.before_call()
            if pacer.adaptive:  # the pacer's bounded wait first: no call queues for the semaphore too
                seq = await pacer.acquire()
                async with self.semaphore:
                    return await attempt(seq, args, kwargs)
            pacer.queued += 1
            try:
                await self.semaphore.acquire()
            finally:
                pacer.queued -= 1
            try:
                return await attempt(await pacer.acquire(), args, kwargs)
            finally:
                self.semaphore.release()

        async def attempt(seq: int, args, kwargs):
            try:
                result = await call(*args, **kwargs)
            except CarrierThrottled as e:  # an answer, not a fault: the carrier is up
                pacer.throttled(seq, e.retry_after, slow_down=e.refused)
                breaker.record(ok=True)
                raise
            except CarrierUnavailable as e:
                breaker.record(ok=False, code=e.code or type(e).__name__)
                if breaker.state == "open":  # this fault opened it, or a trial failed: wait for it
                    e.circuit_open = True
                    e.retry_after = e.retry_after or breaker.reset_s
                raise
            except CarrierAuthError as e:
                log.error("carrier %s refused our credentials on %s: %s", self.name, op, e.code or "-")
                raise
            pacer.accepted()
            breaker.record(ok=True)
            return result

        return guarded

    async def close(self) -> None:
        await self.inner.close()


def carrier_retry(e: CarrierError, carrier: str) -> RetryLater:
    """The job outcome for a transient carrier failure: try again later; a wait for the carrier (a
    throttle, an open circuit) spends no attempt, so no outage, however long, kills the job."""
    return RetryLater(
        f"{type(e).__name__}: {e}", e.retry_after, code=f"{carrier}:{e.code or type(e).__name__}",
        keep_attempt=is_wait(e),
    )  # fmt: skip
