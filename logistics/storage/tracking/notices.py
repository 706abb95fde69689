"""Outbound notices (SMS, callbacks) and named counters on disk."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select, update

from ...ports.repositories.tracking import Notice
from ..tracking_tables import counters
from ..tracking_tables import notices as notices_table
from .base import OnConnection


class SqlNotices(OnConnection):
    def _insert_new_notice(self):
        return self._dialect.insert(notices_table).on_conflict_do_nothing(index_elements=["dedupe_key"])

    async def add_notice(self, notice: Notice) -> bool:
        return (await self._conn.execute(self._insert_new_notice().values(**asdict(notice)))).rowcount == 1

    async def add_notices(self, notices: list[Notice]) -> set[str]:
        if not notices:
            return set()
        added = self._insert_new_notice().returning(notices_table.c.id)
        return set(await self._conn.scalars(added, [asdict(n) for n in notices]))

    async def get_notice(self, notice_id: str) -> Notice | None:
        query = self._in_hall(select(notices_table), notices_table.c.dispatch_id)
        row = (await self._conn.execute(query.where(notices_table.c.id == notice_id))).first()
        return None if row is None else Notice(**row._mapping)

    async def notices_for(self, dispatch_ids: list[str], *, kind: str) -> list[Notice]:
        if not dispatch_ids:
            return []
        t = notices_table.c
        query = self._in_hall(select(notices_table), t.dispatch_id)
        query = query.where(t.dispatch_id.in_(dispatch_ids), t.kind == kind).order_by(t.created_at, t.id)
        return [Notice(**row._mapping) for row in await self._conn.execute(query)]

    async def finish_notice(self, notice_id: str, *, now: datetime, outcome: str) -> None:
        finished = update(notices_table).where(notices_table.c.id == notice_id)
        await self._conn.execute(finished.values(sent_at=now, outcome=outcome[:500]))

    async def count(self, increments: dict[str, int]) -> None:
        rows = [{"name": name, "value": by} for name, by in sorted(increments.items()) if by]
        if rows:
            stmt = self._dialect.insert(counters)
            upsert = stmt.on_conflict_do_update(
                index_elements=["name"], set_={"value": counters.c.value + stmt.excluded.value}
            )
            await self._conn.execute(upsert, rows)

    async def read_counters(self) -> dict[str, int]:
        return {
            name: value for name, value in await self._conn.execute(select(counters.c.name, counters.c.value))
        }
