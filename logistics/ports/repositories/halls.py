"""The county halls (政务服务中心) of one deployment. Not scoped: every caller may know the halls."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ...domain.hall import Hall


class Halls(Protocol):
    async def get(self, code: str) -> Hall | None:
        """The hall, or None; the default hall always exists (its origin is CERTPOST_ORIGIN)."""
        ...

    async def list(self) -> list[Hall]:
        """Every hall, the default one first, then by code."""
        ...

    async def add(self, hall: Hall, *, now: datetime) -> bool:
        """Store a new hall; False when its code is taken."""
        ...
