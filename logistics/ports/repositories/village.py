"""Village proxy points and their clerks' access links. Every method names the point's hall; a unit of
work scoped to another hall finds nothing of it and changes nothing (as if it did not exist)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ...domain.model import Dispatch
from ...domain.village import VillagePoint


@dataclass(frozen=True)
class ClerkAccess:
    """One access link issued to a point's clerk; only a digest of its secret is stored."""

    id: int
    hall: str
    point_code: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    last_used_at: datetime | None = None
    failures: int = 0
    failed_since: datetime | None = None


class VillagePoints(Protocol):
    async def get(self, hall: str, code: str) -> VillagePoint | None: ...

    async def get_many(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], VillagePoint]:
        """{(hall, code): point} of those that exist (and are in scope)."""
        ...

    async def list(self, hall: str | None = None) -> list[VillagePoint]:
        """The points in scope (of `hall` only, when given), by hall and code."""
        ...

    async def add(self, point: VillagePoint) -> bool:
        """Store a new point; False when its hall already has that code."""
        ...

    async def save(self, point: VillagePoint) -> bool:
        """Replace a stored point's details (and active flag); False when there is none."""
        ...

    async def add_access(self, hall: str, code: str, *, token_hash: str, now: datetime, by: str) -> int: ...

    async def accesses(self, hall: str, code: str) -> list[ClerkAccess]:
        """The point's access links, newest first (revoked ones too)."""
        ...

    async def revoke_access(self, hall: str, code: str, access_id: int, *, now: datetime, by: str) -> bool:
        """Revoke a live link of the point; False when there is no such live link."""
        ...

    async def access_by_hash(self, token_hash: str) -> ClerkAccess | None:
        """The link whose secret has this digest (revoked or not), in scope."""
        ...

    async def access_used(self, access_id: int, *, now: datetime) -> None: ...

    async def parcel_counts(self, hall: str | None = None) -> dict[tuple[str, str, str], int]:
        """{(hall, point code, status): dispatches for that point} in scope (of `hall` only, when given)."""
        ...

    async def parcels(self, hall: str, code: str, statuses: list[str] | None = None) -> list[Dispatch]:
        """The dispatches for the point (of `statuses` only, when given), oldest first."""
        ...

    async def access_failed(self, access_id: int, *, now: datetime, window_start: datetime) -> int:
        """Count one wrong pickup code tried through the link; failures older than `window_start` are
        forgotten first. The count in the window, this one included."""
        ...
