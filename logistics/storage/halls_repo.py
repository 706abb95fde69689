"""The halls table (`ports.repositories.halls.Halls`)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.hall import DEFAULT_HALL, ORIGIN_FIELDS, Hall, origin_json
from .tables import hall_tariffs, halls


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

    async def put_tariff(self, code: str, from_period: str, toml: str, *, now: datetime) -> None:
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        values = dict(
            hall=code, from_period=from_period, toml=toml, sha256=hashlib.sha256(toml.encode()).hexdigest(),
            created_at=now,
        )  # fmt: skip
        statement = dialect.insert(hall_tariffs).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["hall", "from_period"],
            set_={"toml": statement.excluded.toml, "sha256": statement.excluded.sha256, "created_at": now},
        )
        await self._conn.execute(statement)

    async def tariff_for(self, code: str, period: str) -> str | None:
        t = hall_tariffs.c
        query = (
            select(t.toml)
            .where(t.hall == code, t.from_period <= period)
            .order_by(t.from_period.desc())
            .limit(1)
        )
        return await self._conn.scalar(query)
