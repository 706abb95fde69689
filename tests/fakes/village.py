"""`ports.repositories.village.VillagePoints` in memory; a scoped unit of work sees only its hall's points
and links (as the SQL repository's filters do)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from logistics.domain.model import DeliveryMethod
from logistics.domain.village import VillagePoint
from logistics.ports.repositories.village import ClerkAccess

from .base import FakeRepository
from .store import copied


class FakeVillagePoints(FakeRepository):
    def _in_scope(self, hall: str) -> bool:
        return self._uow.hall is None or self._uow.hall == hall

    def _refuse_other_hall(self, hall: str) -> None:
        if not self._in_scope(hall):
            raise PermissionError("a scoped unit of work may not write another hall's rows")

    async def get(self, hall: str, code: str) -> VillagePoint | None:
        t = self._read
        return t.village_points.get((hall, code)) if self._in_scope(hall) else None

    async def get_many(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], VillagePoint]:
        t = self._read
        return {k: t.village_points[k] for k in keys if self._in_scope(k[0]) and k in t.village_points}

    async def list(self, hall: str | None = None) -> list[VillagePoint]:
        t = self._read
        return [
            p
            for k, p in sorted(t.village_points.items())
            if self._in_scope(k[0]) and (hall is None or k[0] == hall)
        ]

    async def add(self, point: VillagePoint) -> bool:
        self._refuse_other_hall(point.hall)
        t = self._write
        if (point.hall, point.code) in t.village_points:
            return False
        t.village_points[(point.hall, point.code)] = point
        return True

    async def save(self, point: VillagePoint) -> bool:
        if not self._in_scope(point.hall):
            return False
        t = self._write
        stored = t.village_points.get((point.hall, point.code))
        if stored is None:
            return False
        t.village_points[(point.hall, point.code)] = replace(point, created_at=stored.created_at)
        return True

    async def add_access(self, hall: str, code: str, *, token_hash: str, now: datetime, by: str) -> int:
        self._refuse_other_hall(hall)
        t = self._write
        if any(row["token_hash"] == token_hash for row in t.village_point_access.values()):
            raise ValueError("token hash taken")
        access_id = t.next_id("village_point_access")
        t.village_point_access[access_id] = {
            "token_hash": token_hash, "access": ClerkAccess(access_id, hall, code, now, by),
        }  # fmt: skip
        return access_id

    def _rows(self):
        return [row for row in self._read.village_point_access.values() if self._in_scope(row["access"].hall)]

    async def accesses(self, hall: str, code: str) -> list[ClerkAccess]:
        found = [
            r["access"] for r in self._rows() if (r["access"].hall, r["access"].point_code) == (hall, code)
        ]
        return copied(sorted(found, key=lambda a: -a.id))

    async def revoke_access(self, hall: str, code: str, access_id: int, *, now: datetime, by: str) -> bool:
        row = self._write.village_point_access.get(access_id)
        if row is None or not self._in_scope(row["access"].hall):
            return False
        a = row["access"]
        if (a.hall, a.point_code) != (hall, code) or a.revoked_at is not None:
            return False
        row["access"] = replace(a, revoked_at=now, revoked_by=by)
        return True

    async def access_by_hash(self, token_hash: str) -> ClerkAccess | None:
        return next((r["access"] for r in self._rows() if r["token_hash"] == token_hash), None)

    async def access_used(self, access_id: int, *, now: datetime) -> None:
        row = self._write.village_point_access.get(access_id)
        if row is not None and self._in_scope(row["access"].hall):
            row["access"] = replace(row["access"], last_used_at=now)

    def _point_dispatches(self, hall: str | None):
        return [
            r["dispatch"]
            for r in self._read.dispatches.values()
            if r["dispatch"].delivery_method is DeliveryMethod.VILLAGE_POINT
            and self._in_scope(r["dispatch"].hall)
            and (hall is None or r["dispatch"].hall == hall)
        ]

    async def parcel_counts(self, hall: str | None = None) -> dict[tuple[str, str, str], int]:
        found: dict[tuple[str, str, str], int] = {}
        for dispatch in self._point_dispatches(hall):
            key = (dispatch.hall, dispatch.village_point_code or "", dispatch.status.value)
            found[key] = found.get(key, 0) + 1
        return found

    async def parcels(self, hall: str, code: str, statuses: list[str] | None = None) -> list:
        found = [
            x for x in self._point_dispatches(hall)
            if x.village_point_code == code and (statuses is None or x.status.value in statuses)
        ]  # fmt: skip
        return copied(sorted(found, key=lambda x: x.created_at))

    async def access_failed(self, access_id: int, *, now: datetime, window_start: datetime) -> int:
        row = self._write.village_point_access.get(access_id)
        if row is None or not self._in_scope(row["access"].hall):
            return 0
        a = row["access"]
        stale = a.failed_since is None or a.failed_since < window_start
        a = replace(a, failures=1 if stale else a.failures + 1, failed_since=now if stale else a.failed_since)
        row["access"] = a
        return a.failures
