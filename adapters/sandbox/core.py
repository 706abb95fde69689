"""The simulator's shared machinery: configuration, rate limit, fault injection around an operation."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from .business import Carrier
from .state import SandboxState, SimError

MAX_REQUEST_BYTES = 1024 * 1024
"""The largest request the simulator takes (an order, a batch of waybill lookups); past it, 413."""


class TokenBucket:
    """At most `rate` calls per second on average, bursts up to max(1, rate)."""

    def __init__(self, rate: float, monotonic: Callable[[], float] = time.monotonic):
        self.rate, self.capacity = rate, max(1.0, rate)
        self._tokens, self._monotonic = self.capacity, monotonic
        self._last = monotonic()
        self.accepted = self.refused = 0  # calls let through / answered 429 (GET /_control/limiter)

    def take(self) -> float | None:
        """None if the call may go ahead, else the seconds until it could."""
        now = self._monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            self.accepted += 1
            return None
        self.refused += 1
        return (1 - self._tokens) / self.rate


class Wire(Protocol):
    """How one protocol renders results, errors and faults."""

    def success(self, result: dict) -> web.Response: ...
    def error(self, code: str, message: str) -> web.Response: ...
    def busy(self, retry_after_s: int, *, throttled: bool) -> web.Response: ...
    def malformed(self) -> web.Response: ...


@dataclass
class Sandbox:
    sign_key: str
    sender_no: str
    carrier: Carrier
    limiter: TokenBucket | None = None
    authorization: str | None = None  # None: any authorization string is accepted
    hold_s: float = 120.0  # how long a "timeout" fault keeps the caller waiting
    released: asyncio.Event = field(default_factory=asyncio.Event)  # set at shutdown

    @property
    def state(self) -> SandboxState:
        return self.carrier.state

    async def hold_then_drop(self, request: web.Request) -> None:
        """Keep the caller waiting past any sane client timeout, then drop the connection unanswered."""
        try:
            await asyncio.wait_for(self.released.wait(), self.hold_s)
        except TimeoutError:
            pass
        if request.transport is not None:
            request.transport.close()

    async def perform(
        self, request: web.Request, operation: str, work: Callable[[], dict], protocol: Wire
    ) -> web.Response:
        """Run one carrier operation under rate limit and injected faults."""
        if self.limiter is not None and (wait := self.limiter.take()) is not None:
            return protocol.busy(math.ceil(wait), throttled=True)
        fault = self.state.take_fault(operation)
        if fault == "http_500":
            return web.Response(status=500, text="500 Internal Server Error")
        if fault == "busy":
            return protocol.busy(1, throttled=False)
        if fault == "malformed":
            return protocol.malformed()
        if fault == "timeout":
            await self.hold_then_drop(request)
            return web.Response(status=504)
        try:
            response = protocol.success(work())
        except SimError as exc:
            response = protocol.error(exc.code, exc.message)
        if fault == "commit_then_timeout":
            await self.hold_then_drop(request)
        return response
