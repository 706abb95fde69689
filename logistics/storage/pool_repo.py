"""The waybill number pool: numbers the carrier issued to us in advance (getBillNumBySys)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..ports.repositories.pool import ASSIGNED, FREE
from .tables import waybill_pool

__all__ = ["ASSIGNED", "FREE", "SqlWaybillPool"]


class SqlWaybillPool:
    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    async def add(self, numbers: list[str], *, now: datetime) -> None:
        if not numbers:
            return
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        rows = [{"waybill_no": n, "state": FREE, "allocated_at": now} for n in numbers]
        await self._conn.execute(
            dialect.insert(waybill_pool).on_conflict_do_nothing(index_elements=["waybill_no"]), rows
        )

    async def take(self, dispatch_id: str, *, now: datetime) -> str | None:
        """Assign the oldest free number to the dispatch (the same one again if it already has one)."""
        conn = self._conn
        held = await conn.scalar(
            select(waybill_pool.c.waybill_no).where(waybill_pool.c.dispatch_id == dispatch_id)
        )
        if held:
            return held
        oldest = (
            select(waybill_pool.c.waybill_no)
            .where(waybill_pool.c.state == FREE)
            .order_by(waybill_pool.c.allocated_at, waybill_pool.c.waybill_no)
            .limit(1)
        )
        if conn.dialect.name == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        number = await conn.scalar(oldest)
        if number is None:
            return None
        await conn.execute(
            update(waybill_pool)
            .where(waybill_pool.c.waybill_no == number, waybill_pool.c.state == FREE)
            .values(state=ASSIGNED, dispatch_id=dispatch_id, assigned_at=now)
        )
        return number

    async def counts(self) -> dict[str, int]:
        rows = await self._conn.execute(
            select(waybill_pool.c.state, func.count()).group_by(waybill_pool.c.state)
        )
        return {FREE: 0, ASSIGNED: 0, **{state: n for state, n in rows}}
