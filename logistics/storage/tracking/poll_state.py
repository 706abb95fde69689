"""Per-parcel poll state on disk: which parcels are followed, how far their scans got, when next."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Boolean, and_, bindparam, func, or_, select, update

from ...domain.model import Dispatch
from ...ports.repositories.tracking import PollState
from ..dispatch_codec import dispatch_from_row
from ..tables import dispatches
from ..tracking_tables import tracking
from .base import OnConnection

_PROGRESS = (
    update(tracking)
    .where(tracking.c.dispatch_id == bindparam("p_id"))
    .values(
        last_event_at=bindparam("p_last_event_at"),
        applied_at=bindparam("p_applied_at"),
        active=and_(tracking.c.active, bindparam("p_keep_active", type_=Boolean)),
    )
)

_POLLED = (
    update(tracking)
    .where(tracking.c.dispatch_id == bindparam("p_id"))
    .values(
        last_event_at=bindparam("p_last_event_at"),
        applied_at=bindparam("p_applied_at"),
        last_polled_at=bindparam("p_now"),
        polls=tracking.c.polls + 1,
        next_poll_at=bindparam("p_next_poll_at"),
        active=bindparam("p_active", type_=Boolean),
    )
)


def _start_row(dispatch_id: str, waybill_no: str, now: datetime) -> dict:
    return dict(dispatch_id=dispatch_id, waybill_no=waybill_no, active=True, started_at=now,
                next_poll_at=None, polls=0)  # fmt: skip


class SqlPollStates(OnConnection):
    def _insert_new_tracking(self):
        return self._dialect.insert(tracking).on_conflict_do_nothing(index_elements=["dispatch_id"])

    async def start(self, dispatch_id: str, waybill_no: str, *, now: datetime) -> None:
        await self._conn.execute(
            self._insert_new_tracking().values(**_start_row(dispatch_id, waybill_no, now))
        )

    async def start_many(self, starts: list[tuple[str, str]], *, now: datetime) -> None:
        if starts:
            await self._conn.execute(
                self._insert_new_tracking(), [_start_row(d, wb, now) for d, wb in starts]
            )

    async def get(self, waybill_no: str) -> PollState | None:
        row = (await self._conn.execute(select(tracking).where(tracking.c.waybill_no == waybill_no))).first()
        return None if row is None else PollState(**row._mapping)

    async def get_many(self, waybill_nos: list[str]) -> dict[str, PollState]:
        rows = await self._conn.execute(select(tracking).where(tracking.c.waybill_no.in_(waybill_nos)))
        return {r.waybill_no: PollState(**r._mapping) for r in rows}

    async def save_progress_many(self, progress: list[dict]) -> None:
        if progress:
            await self._conn.execute(
                _PROGRESS,
                [
                    dict(
                        p_id=p["dispatch_id"],
                        p_last_event_at=p["last_event_at"],
                        p_applied_at=p["applied_at"],
                        p_keep_active=p["active"] is not False,
                    )
                    for p in progress
                ],
            )

    async def stop(self, dispatch_id: str) -> None:
        await self._conn.execute(
            update(tracking)
            .where(tracking.c.dispatch_id == dispatch_id)
            .values(active=False, next_poll_at=None)
        )

    async def take_due(self, *, now: datetime, limit: int, hold_s: float, first_poll_s: float) -> list[str]:
        due = or_(
            tracking.c.next_poll_at <= now,
            and_(
                tracking.c.next_poll_at.is_(None),
                tracking.c.started_at <= now - timedelta(seconds=first_poll_s),
            ),
        )
        chosen = (
            select(tracking.c.dispatch_id)
            .where(tracking.c.active.is_(True), due)
            .order_by(tracking.c.next_poll_at)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        held = (
            update(tracking)
            .where(tracking.c.dispatch_id.in_(chosen.scalar_subquery()))
            .values(next_poll_at=now + timedelta(seconds=hold_s))
            .returning(tracking.c.waybill_no)
        )
        return sorted(await self._conn.scalars(held))

    async def polled_many(self, polls: list[dict], *, now: datetime) -> None:
        if polls:
            await self._conn.execute(
                _POLLED,
                [
                    dict(
                        p_id=p["dispatch_id"],
                        p_last_event_at=p["last_event_at"],
                        p_applied_at=p["applied_at"],
                        p_now=now,
                        p_next_poll_at=p["next_poll_at"],
                        p_active=p["next_poll_at"] is not None,
                    )
                    for p in polls
                ],
            )

    async def active_count(self) -> int:
        return await self._conn.scalar(select(func.count()).where(tracking.c.active.is_(True))) or 0

    async def quiet_parcels(self, statuses: list[str], before: datetime) -> list[tuple[Dispatch, datetime]]:
        last_seen = func.coalesce(tracking.c.last_event_at, dispatches.c.updated_at)
        query = (
            select(dispatches, last_seen.label("last_seen"))
            .select_from(dispatches.outerjoin(tracking, tracking.c.dispatch_id == dispatches.c.id))
            .where(dispatches.c.status.in_(statuses), last_seen < before)
            .order_by(last_seen)
        )
        query = self._in_hall(query)
        return [(dispatch_from_row(row), row.last_seen) for row in await self._conn.execute(query)]
