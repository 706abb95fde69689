"""Pre-allocated waybill numbers for booking while the carrier is unreachable."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

FREE, ASSIGNED = "free", "assigned"  # a number's states, the keys of `WaybillPool.counts`


class WaybillPool(Protocol):
    async def add(self, numbers: list[str], *, now: datetime) -> None: ...

    async def take(self, dispatch_id: str, *, now: datetime) -> str | None:
        """Assign the oldest free number to the dispatch (the same one again if it already has one)."""
        ...

    async def counts(self) -> dict[str, int]: ...
