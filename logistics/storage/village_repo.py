"""Village proxy points and clerk access links on SQL (`ports.repositories.village.VillagePoints`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import Address, DeliveryMethod, Dispatch
from ..domain.village import ADDRESS_FIELDS, VillagePoint
from ..ports.repositories.village import ClerkAccess
from .dispatch_codec import DISPATCH_COLUMNS
from .dispatch_codec import dispatch_from_row as to_domain
from .tables import dispatches as d
from .village_tables import village_point_access as va
from .village_tables import village_points as vp


def _point(row) -> VillagePoint:
    a = {k: str((row.address or {}).get(k) or "") for k in ADDRESS_FIELDS}
    return VillagePoint(
        code=row.code, name=row.name, town=row.town,
        address=Address(a["province"], a["city"], a["county"], a["detail"], a["postcode"], a["town"]),
        clerk_name=row.clerk_name, clerk_phone=row.clerk_phone, active=bool(row.active), hall=row.hall,
        created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def _values(p: VillagePoint) -> dict:
    a = p.address
    address = {"province": a.province, "city": a.city, "county": a.county, "town": a.town,
               "detail": a.detail, "postcode": a.postcode}  # fmt: skip
    return dict(
        name=p.name, town=p.town, address=address, clerk_name=p.clerk_name, clerk_phone=p.clerk_phone,
        active=p.active, updated_at=p.updated_at,
    )  # fmt: skip


def _access(row) -> ClerkAccess:
    return ClerkAccess(
        row.id, row.hall, row.point_code, row.created_at, row.created_by, row.revoked_at, row.revoked_by,
        row.last_used_at, row.failures, row.failed_since,
    )  # fmt: skip


class SqlVillagePoints:
    def __init__(self, conn: AsyncConnection, hall: str | None):
        self._conn, self._hall = conn, hall

    def _in_scope(self, hall: str) -> bool:
        return self._hall is None or self._hall == hall

    def _scoped(self, column):
        return column == self._hall if self._hall is not None else True

    async def get(self, hall: str, code: str) -> VillagePoint | None:
        if not self._in_scope(hall):
            return None
        row = (await self._conn.execute(select(vp).where(vp.c.hall == hall, vp.c.code == code))).first()
        return _point(row) if row else None

    async def get_many(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], VillagePoint]:
        keys = {k for k in keys if self._in_scope(k[0])}
        if not keys:
            return {}
        query = select(vp).where(tuple_(vp.c.hall, vp.c.code).in_(sorted(keys)))
        return {(r.hall, r.code): _point(r) for r in await self._conn.execute(query)}

    async def list(self, hall: str | None = None) -> list[VillagePoint]:
        if hall is not None and not self._in_scope(hall):
            return []
        query = select(vp).where(self._scoped(vp.c.hall))
        if hall is not None:
            query = query.where(vp.c.hall == hall)
        rows = await self._conn.execute(query.order_by(vp.c.hall, vp.c.code))
        return [_point(r) for r in rows]

    async def add(self, point: VillagePoint) -> bool:
        if not self._in_scope(point.hall):
            raise PermissionError("a scoped unit of work may not write another hall's rows")
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(vp).on_conflict_do_nothing(index_elements=["hall", "code"])
        values = _values(point) | dict(hall=point.hall, code=point.code, created_at=point.created_at)
        return (await self._conn.execute(statement.values(**values))).rowcount == 1

    async def save(self, point: VillagePoint) -> bool:
        if not self._in_scope(point.hall):
            return False
        statement = (
            update(vp).where(vp.c.hall == point.hall, vp.c.code == point.code).values(**_values(point))
        )
        return (await self._conn.execute(statement)).rowcount == 1

    async def add_access(self, hall: str, code: str, *, token_hash: str, now: datetime, by: str) -> int:
        if not self._in_scope(hall):
            raise PermissionError("a scoped unit of work may not write another hall's rows")
        values = dict(
            token_hash=token_hash, hall=hall, point_code=code, created_at=now, created_by=by, failures=0
        )
        return (await self._conn.execute(va.insert().values(**values).returning(va.c.id))).scalar_one()

    async def accesses(self, hall: str, code: str) -> list[ClerkAccess]:
        if not self._in_scope(hall):
            return []
        query = select(va).where(va.c.hall == hall, va.c.point_code == code).order_by(va.c.id.desc())
        return [_access(r) for r in await self._conn.execute(query)]

    async def revoke_access(self, hall: str, code: str, access_id: int, *, now: datetime, by: str) -> bool:
        if not self._in_scope(hall):
            return False
        statement = (
            update(va)
            .where(
                va.c.id == access_id, va.c.hall == hall, va.c.point_code == code, va.c.revoked_at.is_(None)
            )
            .values(revoked_at=now, revoked_by=by)
        )
        return (await self._conn.execute(statement)).rowcount == 1

    async def access_by_hash(self, token_hash: str) -> ClerkAccess | None:
        query = select(va).where(va.c.token_hash == token_hash, self._scoped(va.c.hall))
        row = (await self._conn.execute(query)).first()
        return _access(row) if row else None

    async def access_used(self, access_id: int, *, now: datetime) -> None:
        await self._conn.execute(
            update(va).where(va.c.id == access_id, self._scoped(va.c.hall)).values(last_used_at=now)
        )

    def _for_points(self, query, hall: str | None):
        query = query.where(d.c.delivery_method == DeliveryMethod.VILLAGE_POINT.value)
        if self._hall is not None:
            query = query.where(d.c.hall == self._hall)
        return query.where(d.c.hall == hall) if hall is not None else query

    async def parcel_counts(self, hall: str | None = None) -> dict[tuple[str, str, str], int]:
        if hall is not None and not self._in_scope(hall):
            return {}
        code = d.c.payload["village_point_code"].as_string()
        query = self._for_points(select(d.c.hall, code, d.c.status, func.count()), hall)
        rows = await self._conn.execute(query.group_by(d.c.hall, code, d.c.status))
        return {(h, c or "", s): n for h, c, s, n in rows}

    async def parcels(self, hall: str, code: str, statuses: list[str] | None = None) -> list[Dispatch]:
        if not self._in_scope(hall):
            return []
        query = self._for_points(select(*DISPATCH_COLUMNS), hall).where(
            d.c.payload["village_point_code"].as_string() == code
        )
        if statuses is not None:
            query = query.where(d.c.status.in_(statuses))
        return [to_domain(r) for r in await self._conn.execute(query.order_by(d.c.created_at))]

    async def access_failed(self, access_id: int, *, now: datetime, window_start: datetime) -> int:
        stale = or_(va.c.failed_since.is_(None), va.c.failed_since < window_start)
        statement = (
            update(va)
            .where(va.c.id == access_id, self._scoped(va.c.hall))
            .values(
                failures=case((stale, 1), else_=va.c.failures + 1),
                failed_since=case((stale, now), else_=va.c.failed_since),
            )
            .returning(va.c.failures)
        )
        return (await self._conn.execute(statement)).scalar_one_or_none() or 0
