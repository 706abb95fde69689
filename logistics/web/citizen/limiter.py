"""Failed citizen lookups per client address: after too many in a window, answer 429.

Kept in memory per instance (a guesser spread over several instances gets a few more tries each);
the table is bounded so a flood of addresses cannot grow it without limit."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field

MAX_ADDRESSES = 100_000


@dataclass
class FailureLimiter:
    max_failures: int
    window_s: float
    _failures: OrderedDict[str, deque] = field(default_factory=OrderedDict)

    def _recent(self, address: str, now: float) -> deque:
        times = self._failures.get(address)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def retry_after(self, address: str, now: float) -> float | None:
        """Seconds until this address may try again, or None when it may try now."""
        times = self._recent(address, now)
        if len(times) < self.max_failures:
            return None
        return max(1.0, times[0] + self.window_s - now)

    def failed(self, address: str, now: float) -> None:
        times = self._recent(address, now)
        times.append(now)
        self._failures[address] = times
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)
