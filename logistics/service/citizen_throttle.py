"""Failed citizen lookups, capped per client address, per waybill number and per case number.

The counts are in the database, so every instance shares one allowance and a restart keeps it. A
lookup reads its buckets first (a read only: a successful lookup writes nothing); a failed one counts in
each bucket with one upsert. Unknown numbers and wrong phones count alike, and a bucket over its cap
answers the same way whatever was asked, so neither the 404 nor the 429 tells a guesser anything.

Lookups of one number still in flight are capped in each instance too: a burst of concurrent guesses
at one number cannot all pass the check before the first of their failures is counted. (Not per
address: many citizens may share one, behind a NAT.)"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv6Network

from ..config import Settings
from ..ports import UnitOfWork
from ..ports.repositories.throttle import Bucket
from .deps import Deps

ADDRESS, WAYBILL, CASE = "ip", "waybill", "case"
MAX_KEY = 64
FORGET_EVERY = 500  # failures counted by this instance between two sweeps of ended windows


@dataclass(frozen=True)
class Cap:
    failures: int
    window_s: float


@dataclass(frozen=True)
class Caps:
    address: Cap
    waybill: Cap
    case: Cap
    in_flight: int = 4

    @classmethod
    def from_settings(cls, s: Settings) -> Caps:
        number_window = s.citizen_number_failure_window_s
        return cls(
            Cap(s.citizen_max_failures, s.citizen_failure_window_s),
            Cap(s.citizen_max_failures_per_waybill, number_window),
            Cap(s.citizen_max_failures_per_case, number_window),
            s.citizen_max_in_flight,
        )

    def of(self, kind: str) -> Cap:
        return {ADDRESS: self.address, WAYBILL: self.waybill, CASE: self.case}[kind]


def address_key(address: str) -> str:
    """An IPv6 client is counted by its /64 (one subscriber's network holds countless addresses)."""
    if ":" not in address:
        return address[:MAX_KEY]
    try:
        return str(IPv6Network(f"{address}/64", strict=False))
    except ValueError:
        return address[:MAX_KEY]


def buckets_for(address: str, waybill_no: str, case_no: str) -> list[Bucket]:
    """The buckets a lookup counts in: its address, and the number it asked about (the waybill when
    both are given, as the lookup does); numbers too long to be real are counted by address only."""
    found = [(ADDRESS, address_key(address))]
    if waybill_no:
        if len(waybill_no) <= MAX_KEY:
            found.append((WAYBILL, waybill_no))
    elif case_no and len(case_no) <= MAX_KEY:
        found.append((CASE, case_no))
    return found


class InFlight:
    """`with throttle.attempt(buckets) as admitted:` (a plain class: this is on every lookup's path)."""

    __slots__ = ("counts", "numbers", "taken")

    def __init__(self, counts: Counter[Bucket], numbers: list[Bucket], cap: int):
        self.counts, self.numbers = counts, numbers
        self.taken = all(counts[b] < cap for b in numbers)

    def __enter__(self) -> bool:
        if self.taken:
            for b in self.numbers:
                self.counts[b] += 1
        return self.taken

    def __exit__(self, *exc) -> None:
        if self.taken:
            for b in self.numbers:
                self.counts[b] -= 1
                if self.counts[b] <= 0:
                    del self.counts[b]


class CitizenThrottle:
    def __init__(self, deps: Deps, caps: Caps):
        self.deps, self.caps = deps, caps
        self._in_flight: Counter[Bucket] = Counter()
        self._counted = 0

    async def retry_after(self, buckets: list[Bucket], now: datetime) -> int | None:
        """Whole seconds until a lookup in these buckets may be tried again, or None: it may now."""
        async with self.deps.uow(read_only=True) as uow:
            windows = await uow.throttle.windows(buckets)
        waits = [
            (w.ends_at - now).total_seconds()
            for w in windows
            if w.ends_at > now and w.failures >= self.caps.of(w.kind).failures
        ]
        return max(1, math.ceil(max(waits))) if waits else None

    def attempt(self, buckets: list[Bucket]) -> InFlight:
        """Hold a place among the lookups of its number in flight in this instance until it has answered
        (and its failure is counted); `admitted` is False, holding none, when they are all taken. Taken
        before the counts are read, so concurrent lookups cannot all read them before any has counted."""
        return InFlight(self._in_flight, [b for b in buckets if b[0] != ADDRESS], self.caps.in_flight)

    async def failed(self, buckets: list[Bucket], now: datetime) -> None:
        """Count one failure in each bucket (committed before the lookup answers)."""
        windows_s = {b: self.caps.of(b[0]).window_s for b in buckets}
        self._counted += 1
        sweep = self._counted % FORGET_EVERY == 0

        async def unit(uow: UnitOfWork) -> None:
            await uow.throttle.count_failure(windows_s, now=now)
            if sweep:
                await uow.throttle.forget_ended(now=now)

        await self.deps.write(unit)
