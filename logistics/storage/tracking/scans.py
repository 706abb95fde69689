"""Carrier scans on disk, and the dispatches they move."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select, update

from ...domain.model import Dispatch
from ...ports import TrackEvent
from ...ports.repositories.tracking import StoredScan
from ..dispatch_codec import dispatch_from_row
from ..tables import dispatches
from ..tracking_tables import carrier_events
from .base import OnConnection

_SCAN_COLUMNS = (
    carrier_events.c.id,
    carrier_events.c.waybill_no,
    carrier_events.c.time,
    carrier_events.c.raw_code,
    carrier_events.c.status,
    carrier_events.c.description,
    carrier_events.c.location,
    carrier_events.c.reason,
)


def _event_row(e: TrackEvent, source: str, now: datetime) -> dict:
    return dict(
        waybill_no=e.waybill_no,
        time=e.time,
        raw_code=e.raw_code,
        status=e.status.value,
        description=e.description,
        location=e.location,
        reason=e.reason,
        extra=e.extra,
        source=source,
        applied=False,
        received_at=now,
    )


class SqlScans(OnConnection):
    async def insert_events(self, events: list[TrackEvent], *, source: str, now: datetime) -> int:
        return sum((await self.store_events(events, source=source, now=now)).values())

    async def store_events(self, events: list[TrackEvent], *, source: str, now: datetime) -> Counter[str]:
        """One multi-row statement; RETURNING names only the rows really inserted."""
        rows, seen = [], set()
        for e in events:
            key = (e.waybill_no, e.raw_code, e.time)
            if key not in seen:
                seen.add(key)
                rows.append(_event_row(e, source, now))
        if not rows:
            return Counter()
        stmt = (
            self._dialect.insert(carrier_events)
            .on_conflict_do_nothing(index_elements=["waybill_no", "raw_code", "time"])
            .returning(carrier_events.c.waybill_no)
        )
        return Counter(await self._conn.scalars(stmt, rows))

    async def pending_events_many(self, waybill_nos: list[str]) -> dict[str, list[StoredScan]]:
        query = (
            select(*_SCAN_COLUMNS)
            .where(carrier_events.c.waybill_no.in_(waybill_nos), carrier_events.c.applied.is_(False))
            .order_by(carrier_events.c.waybill_no, carrier_events.c.time, carrier_events.c.id)
        )
        found: dict[str, list[StoredScan]] = {}
        for row in await self._conn.execute(query):
            found.setdefault(row.waybill_no, []).append(StoredScan(*row))
        return found

    async def mark_applied(self, event_ids: list[int]) -> None:
        if event_ids:
            await self._conn.execute(
                update(carrier_events).where(carrier_events.c.id.in_(event_ids)).values(applied=True)
            )

    async def events_for(self, waybill_no: str) -> list[StoredScan]:
        query = select(*_SCAN_COLUMNS).where(carrier_events.c.waybill_no == waybill_no)
        if self.hall is not None:
            ours = select(dispatches.c.id).where(
                dispatches.c.waybill_no == carrier_events.c.waybill_no, dispatches.c.hall == self.hall
            )
            query = query.where(ours.exists())
        newest_first = query.order_by(carrier_events.c.time.desc(), carrier_events.c.id.desc())
        return [StoredScan(*row) for row in await self._conn.execute(newest_first)]

    async def dispatches_by_waybill(self, waybill_nos: list[str]) -> dict[str, Dispatch]:
        query = self._in_hall(select(dispatches).where(dispatches.c.waybill_no.in_(waybill_nos)))
        rows = await self._conn.execute(query)
        return {r.waybill_no: dispatch_from_row(r) for r in rows}

    async def move_dispatches(
        self, ids: list[str], *, from_status: str, to_status: str, at: datetime, **changes
    ) -> set[str]:
        result = await self._conn.scalars(
            self._in_hall(update(dispatches))
            .where(dispatches.c.id.in_(ids), dispatches.c.status == from_status)
            .values(status=to_status, updated_at=at, **changes)
            .returning(dispatches.c.id)
        )
        return set(result)
