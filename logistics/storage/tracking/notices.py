"""Outbound notices (SMS, callbacks) and named counters on disk."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select, update

from ...ports.repositories.tracking import Notice
from ..tracking_tables import counters, notices
from .base import OnConnection


class SqlNotices(OnConnection):
    def _insert_new(self):
        return self._dialect.insert(notices).on_conflict_do_nothing(index_elements=["dedupe_key"])

    async def add_notice(self, notice: Notice) -> bool:
        return (await self._conn.execute(self._insert_new().values(**asdict(notice)))).rowcount == 1

    async def add_notices(self, new: list[Notice]) -> set[str]:
        if not new:
            return set()
        added = self._insert_new().returning(notices.c.id)
        return set(await self._conn.scalars(added, [asdict(n) for n in new]))

    async def get_notice(self, notice_id: str) -> Notice | None:
        row = (await self._conn.execute(select(notices).where(notices.c.id == notice_id))).first()
        return None if row is None else Notice(**row._mapping)

    async def finish_notice(self, notice_id: str, *, now: datetime, outcome: str) -> None:
        await self._conn.execute(
            update(notices).where(notices.c.id == notice_id).values(sent_at=now, outcome=outcome[:500])
        )

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
