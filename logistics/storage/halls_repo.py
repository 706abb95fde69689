"""The halls table (`ports.repositories.halls.Halls`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.hall import DEFAULT_HALL, ORIGIN_FIELDS, Hall, origin_json
from .tables import halls


class SqlHalls:
    def __init__(self, conn: AsyncConnection, default: Hall | None = None):
        self._conn, self._default = conn, default

    def _hall(self, row) -> Hall:
        if row.code == DEFAULT_HALL and self._default is not None:
            return replace(self._default, code=DEFAULT_HALL)
        origin = row.origin or {}
        fields = {k: origin.get(k, "") for k in (*ORIGIN_FIELDS, "town")}
        return Hall(name=origin.get("name") or row.name, code=row.code, **fields)

    async def get(self, code: str) -> Hall | None:
        row = (await self._conn.execute(select(halls).where(halls.c.code == code))).first()
        if row is None and code == DEFAULT_HALL and self._default is not None:
            return replace(self._default, code=DEFAULT_HALL)
        return self._hall(row) if row else None

    async def list(self) -> list[Hall]:
        rows = list(await self._conn.execute(select(halls).order_by(halls.c.code)))
        found = sorted((self._hall(r) for r in rows), key=lambda h: (h.code != DEFAULT_HALL, h.code))
        if not any(h.code == DEFAULT_HALL for h in found) and self._default is not None:
            found.insert(0, replace(self._default, code=DEFAULT_HALL))
        return found

    async def add(self, hall: Hall, *, now: datetime) -> bool:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(halls).on_conflict_do_nothing(index_elements=["code"])
        values = dict(code=hall.code, name=hall.name, origin=origin_json(hall), created_at=now)
        return (await self._conn.execute(statement.values(**values))).rowcount == 1
