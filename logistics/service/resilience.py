"""Guards around one carrier: a concurrency limit, a request-rate limit and a circuit breaker.

The guarded gateway has the same interface, so use cases do not know it is there."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from ..ports import CarrierGateway, CarrierUnavailable, CarrierUnreachable


@dataclass
class RateLimiter:
    """Spaces calls at `rate_per_s` (no bursts above one token): we spend the carrier's quota, not 429s."""

    rate_per_s: float
    _next: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + 1.0 / self.rate_per_s
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass
class CircuitBreaker:
    """Opens after `threshold` transient failures in a row; lets one trial call through after `reset_s`."""

    threshold: int = 5
    reset_s: float = 30.0
    failures: int = 0
    opened_at: float | None = None

    def before_call(self) -> None:
        if self.opened_at is None:
            return
        remaining = self.reset_s - (time.monotonic() - self.opened_at)
        if remaining > 0:
            raise CarrierUnreachable("carrier circuit open", code="circuit_open", retry_after=remaining)
        self.opened_at = time.monotonic()  # half-open: this call is the trial, others keep waiting

    def record(self, ok: bool) -> None:
        if ok:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()

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
    ):
        self.inner = inner
        self.name = getattr(inner, "name", "carrier")
        self.semaphore = asyncio.Semaphore(concurrency)
        self.limiter = RateLimiter(rate_per_s) if rate_per_s else None
        self.breaker = breaker or CircuitBreaker()

    def __getattr__(self, op: str):
        if op not in self._GUARDED:
            return getattr(self.inner, op)
        call = getattr(self.inner, op)

        async def guarded(*args, **kwargs):
            self.breaker.before_call()
            async with self.semaphore:
                if self.limiter:
                    await self.limiter.acquire()
                try:
                    result = await call(*args, **kwargs)
                except CarrierUnavailable:
                    self.breaker.record(ok=False)
                    raise
                self.breaker.record(ok=True)
                return result

        return guarded

    async def close(self) -> None:
        await self.inner.close()
