"""The console's rows: sessions, login failures, its audit log and pickup codes; the dispatch lists and
figures its pages show."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import DeliveryMethod, Dispatch
from ..ports.repositories.console import Attempt
from .console_tables import console_audit, console_sessions, login_failures, pickup_codes, pickup_slips
from .dispatch_codec import DISPATCH_COLUMNS, recipient_key
from .dispatch_codec import dispatch_from_row as to_domain
from .tables import UTCDateTime, dispatch_events, dispatches

# what a case number (the API's pattern) or a waybill number may be
_NUMBER = re.compile(r"[A-Za-z0-9_\-]{1,64}")


class SqlConsoleRecords:
    """Sessions, sign-in failures and the staff audit log belong to no hall; pickup codes, the dispatch
    lists and the dashboard's figures keep to the unit of work's hall when it has one."""

    def __init__(self, conn: AsyncConnection, hall: str | None = None):
        self._conn, self.hall = conn, hall

    def _insert(self, table):
        """An INSERT with ON CONFLICT, on either database."""
        return (pg_insert if self._conn.dialect.name == "postgresql" else sqlite_insert)(table)

    def _upsert(self, table, **values):
        """Insert the row, or set `values` on the one with its primary key: one statement, so writers that
        race (a double-clicked print) replace each other's row instead of meeting its primary key."""
        stmt = self._insert(table).values(**values)
        keys = [c.name for c in table.primary_key]
        return stmt.on_conflict_do_update(
            index_elements=keys, set_={k: stmt.excluded[k] for k in values if k not in keys}
        )

    def _in_hall(self, query, id_column=None):
        """`query` kept to the hall's dispatches (`id_column`: the dispatch id its rows belong to)."""
        if self.hall is None:
            return query
        if id_column is None:
            return query.where(dispatches.c.hall == self.hall)
        ours = select(dispatches.c.id).where(dispatches.c.id == id_column, dispatches.c.hall == self.hall)
        return query.where(ours.exists())

    # ---- sessions -----------------------------------------------------------------------------------

    async def add_session(
        self, *, id_hash: str, user_id: int, csrf_token: str, now: datetime, expires_at: datetime
    ) -> None:
        await self._conn.execute(
            insert(console_sessions).values(
                id_hash=id_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
        )

    async def get_session(self, id_hash: str):
        return (
            await self._conn.execute(select(console_sessions).where(console_sessions.c.id_hash == id_hash))
        ).first()

    async def touch_session(self, id_hash: str, *, now: datetime, expires_at: datetime) -> None:
        await self._conn.execute(
            update(console_sessions)
            .where(console_sessions.c.id_hash == id_hash)
            .values(last_seen_at=now, expires_at=expires_at)
        )

    async def drop_session(self, id_hash: str) -> None:
        await self._conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash))

    async def drop_sessions_of(self, user_id: int) -> None:
        await self._conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))

    async def drop_expired(self, now: datetime) -> None:
        await self._conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))

    # ---- login failures -----------------------------------------------------------------------------

    async def failures_of(self, name: str):
        return (await self._conn.execute(select(login_failures).where(login_failures.c.name == name))).first()

    async def reserve_login_attempt(
        self, name: str, *, now: datetime, limit: int, window: timedelta
    ) -> Attempt | None:
        """Count one more attempt at `name` before its password is checked, in one conditional UPDATE:
        None when `name` is locked (its `limit` attempts are used, checked or still being checked).
        Failures older than `window`, and an expired lock-out, are forgotten. The attempt that reaches the
        limit locks the name at once, so no parallel attempt gets past it while this one is checked."""
        await self._conn.execute(
            self._insert(login_failures)
            .values(name=name, failures=0, first_failed_at=now, locked_until=None)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        t, at = login_failures.c, literal(now, UTCDateTime())
        stale = or_(
            and_(t.locked_until.is_not(None), t.locked_until <= now),
            and_(t.locked_until.is_(None), t.first_failed_at < now - window),
        )
        number = case((stale, 1), else_=t.failures + 1)
        result = await self._conn.execute(
            update(login_failures)
            .where(t.name == name, or_(stale, and_(t.failures < limit, t.locked_until.is_(None))))
            .values(
                failures=number,
                first_failed_at=case((stale, at), else_=t.first_failed_at),
                locked_until=case((number >= limit, literal(now + window, UTCDateTime())), else_=None),
            )
            .returning(t.failures, t.locked_until)
        )
        row = result.first()
        return Attempt(row.failures, row.locked_until) if row else None

    async def clear_failures(self, name: str) -> None:
        await self._conn.execute(delete(login_failures).where(login_failures.c.name == name))

    # ---- audit --------------------------------------------------------------------------------------

    async def audit(self, *, at: datetime, actor: str, action: str, subject: str, **detail) -> None:
        await self._conn.execute(
            insert(console_audit).values(at=at, actor=actor, action=action, subject=subject, detail=detail)
        )

    async def audit_log(self, *, limit: int = 100, action_prefix: str | None = None) -> list:
        query = select(console_audit).order_by(console_audit.c.id.desc()).limit(limit)
        if action_prefix:
            query = query.where(console_audit.c.action.startswith(action_prefix))
        return list(await self._conn.execute(query))

    # ---- pickup codes -------------------------------------------------------------------------------

    async def put_pickup_code(
        self, dispatch_id: str, *, code_hash: str, now: datetime, expires_at: datetime, by: str
    ) -> None:
        """A new code for the dispatch, replacing any earlier one."""
        await self._check_ours(dispatch_id)
        await self._conn.execute(
            self._upsert(
                pickup_codes,
                dispatch_id=dispatch_id,
                code_hash=code_hash,
                created_at=now,
                expires_at=expires_at,
                attempts=0,
                used_at=None,
                created_by=by,
            )
        )

    async def _check_ours(self, dispatch_id: str) -> None:
        if self.hall is not None:
            ours = self._in_hall(select(dispatches.c.id).where(dispatches.c.id == dispatch_id))
            if await self._conn.scalar(ours) is None:
                raise PermissionError("not a dispatch of this unit of work's hall")

    async def expire_pickup_code(self, dispatch_id: str, *, now: datetime) -> None:
        await self._check_ours(dispatch_id)
        c = pickup_codes.c
        await self._conn.execute(
            update(pickup_codes)
            .where(c.dispatch_id == dispatch_id, c.used_at.is_(None), c.expires_at > now)
            .values(expires_at=now)
        )

    async def pickup_code(self, dispatch_id: str):
        return (
            await self._conn.execute(
                self._in_hall(select(pickup_codes), pickup_codes.c.dispatch_id).where(
                    pickup_codes.c.dispatch_id == dispatch_id
                )
            )
        ).first()

    async def pickup_codes_for(self, dispatch_ids: list[str]) -> dict:
        if not dispatch_ids:
            return {}
        rows = await self._conn.execute(
            self._in_hall(select(pickup_codes), pickup_codes.c.dispatch_id).where(
                pickup_codes.c.dispatch_id.in_(dispatch_ids)
            )
        )
        return {r.dispatch_id: r for r in rows}

    # ---- pickup slips (取件通知单) ---------------------------------------------------------------------

    async def queue_pickup_slip(self, dispatch_id: str, *, reason: str, now: datetime) -> None:
        """The dispatch's code is to be printed on a slip (again, if one was printed before)."""
        await self._check_ours(dispatch_id)
        await self._conn.execute(
            self._upsert(
                pickup_slips,
                dispatch_id=dispatch_id,
                reason=reason[:500],
                queued_at=now,
                printed_at=None,
                printed_by=None,
            )
        )

    async def slip_printed(self, dispatch_id: str, *, now: datetime, by: str) -> None:
        """A slip was printed: the waiting one, or one staff printed unasked (its reason says so)."""
        await self._check_ours(dispatch_id)
        new = self._insert(pickup_slips).values(
            dispatch_id=dispatch_id, reason="工作人员打印", queued_at=now, printed_at=now, printed_by=by
        )
        await self._conn.execute(
            new.on_conflict_do_update(
                index_elements=["dispatch_id"], set_={"printed_at": now, "printed_by": by}
            )
        )

    async def clear_pickup_slip(self, dispatch_id: str) -> None:
        await self._conn.execute(
            self._in_hall(delete(pickup_slips), pickup_slips.c.dispatch_id).where(
                pickup_slips.c.dispatch_id == dispatch_id
            )
        )

    async def pickup_slips_for(self, dispatch_ids: list[str]) -> dict:
        if not dispatch_ids:
            return {}
        rows = await self._conn.execute(
            self._in_hall(select(pickup_slips), pickup_slips.c.dispatch_id).where(
                pickup_slips.c.dispatch_id.in_(dispatch_ids)
            )
        )
        return {r.dispatch_id: r for r in rows}

    async def _check_ours(self, dispatch_id: str) -> None:
        if self.hall is not None:
            ours = self._in_hall(select(dispatches.c.id).where(dispatches.c.id == dispatch_id))
            if await self._conn.scalar(ours) is None:
                raise PermissionError("not a dispatch of this unit of work's hall")

    async def reserve_pickup_attempt(
        self, dispatch_id: str, *, now: datetime, max_attempts: int
    ) -> str | None:
        """Count one more try at the dispatch's code before it is checked, in one conditional UPDATE: the
        code's hash, or None when there is no usable code (none, used, expired or out of tries)."""
        t = pickup_codes.c
        result = await self._conn.execute(
            self._in_hall(update(pickup_codes), t.dispatch_id)
            .where(
                t.dispatch_id == dispatch_id,
                t.used_at.is_(None),
                t.expires_at > now,
                t.attempts < max_attempts,
            )
            .values(attempts=t.attempts + 1)
            .returning(t.code_hash)
        )
        return result.scalar()

    async def use_pickup_code(self, dispatch_id: str, *, code_hash: str, now: datetime) -> bool:
        """Mark the code that was checked used, once: False when it was used or replaced meanwhile."""
        result = await self._conn.execute(
            self._in_hall(update(pickup_codes), pickup_codes.c.dispatch_id)
            .where(
                pickup_codes.c.dispatch_id == dispatch_id,
                pickup_codes.c.code_hash == code_hash,
                pickup_codes.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return result.rowcount == 1

    # ---- the dispatch list --------------------------------------------------------------------------

    async def search_dispatches(
        self, *, statuses: list[str] | None, q: str = "", limit: int = 100, offset: int = 0,
        hall: str | None = None,
    ) -> tuple[list, int]:  # fmt: skip
        """Dispatches by status and a search for a whole case number, waybill number or recipient's
        full name (each served by an index; the name as its digest), the latest change first."""
        query = self._in_hall(select(*DISPATCH_COLUMNS))
        if hall:  # an admin's filter; a hall's own unit of work is kept to its hall anyway
            query = query.where(dispatches.c.hall == hall)
        if statuses:
            query = query.where(dispatches.c.status.in_(statuses))
        q = q.strip()
        if q:
            c = dispatches.c
            wanted = [c.recipient_key == recipient_key(q)]
            if _NUMBER.fullmatch(q):  # only what can be a number goes out as text (a Chinese name never)
                wanted += [c.case_no == q, c.waybill_no == q]
            query = query.where(or_(*wanted))
        total = await self._conn.scalar(select(func.count()).select_from(query.subquery()))
        rows = await self._conn.execute(
            query.order_by(dispatches.c.updated_at.desc()).limit(limit).offset(offset)
        )
        return [to_domain(r) for r in rows], total or 0

    async def count_by_status(self) -> dict[str, int]:
        rows = await self._conn.execute(
            self._in_hall(select(dispatches.c.status, func.count())).group_by(dispatches.c.status)
        )
        return dict(rows.all())

    async def village_point_dispatches(self) -> list[Dispatch]:
        """The dispatches delivered through village proxy points, oldest first."""
        query = self._in_hall(select(dispatches)).where(
            dispatches.c.delivery_method == DeliveryMethod.VILLAGE_POINT.value
        )
        return [to_domain(r) for r in await self._conn.execute(query.order_by(dispatches.c.created_at))]

    # ---- the dashboard ------------------------------------------------------------------------------

    async def received_since(self, since: datetime) -> int:
        return (
            await self._conn.scalar(
                self._in_hall(select(func.count()).select_from(dispatches)).where(
                    dispatches.c.created_at >= since
                )
            )
            or 0
        )

    async def moves_since(self, since: datetime, statuses: Sequence[str]) -> dict[str, int]:
        """How many status changes to each of `statuses` happened at or after `since`."""
        e, d = dispatch_events.c, dispatches.c
        query = (
            select(e.to_status, func.count())
            .select_from(dispatches.join(dispatch_events, e.dispatch_id == d.id))
            .where(_changed_since(since), e.at >= since, e.to_status.in_(statuses))
            .where(e.from_status != e.to_status)
        )
        rows = await self._conn.execute(self._in_hall(query).group_by(e.to_status))
        return dict(rows.all())

    async def first_moves_to(self, status: str, since: datetime) -> list[tuple[datetime, dict]]:
        """(first move to `status` at or after `since`, the dispatch's payload), one per dispatch."""
        e, d = dispatch_events.c, dispatches.c
        first = func.min(e.at)
        rows = await self._conn.execute(
            self._in_hall(
                select(first, d.payload)
                .select_from(dispatches.join(dispatch_events, e.dispatch_id == d.id))
                .where(_changed_since(since), e.to_status == status, e.from_status != status)
                .group_by(d.id)
                .having(first >= since)
            )
        )
        return [(_aware(at), payload) for at, payload in rows]

    # ---- the province view (全省概览): one figure per hall -------------------------------------------

    async def count_by_hall_status(self) -> dict[str, dict[str, int]]:
        """{hall: {status: dispatches}}."""
        c = dispatches.c
        rows = await self._conn.execute(
            self._in_hall(select(c.hall, c.status, func.count())).group_by(c.hall, c.status)
        )
        found: dict[str, dict[str, int]] = {}
        for hall, status, n in rows:
            found.setdefault(hall, {})[status] = n
        return found

    async def first_moves_by_hall(self, status: str, since: datetime) -> list[tuple[str, datetime, dict]]:
        """(hall, first move to `status` at or after `since`, the dispatch's payload), one per dispatch."""
        e, d = dispatch_events.c, dispatches.c
        first = func.min(e.at)
        rows = await self._conn.execute(
            self._in_hall(
                select(d.hall, first, d.payload)
                .select_from(dispatches.join(dispatch_events, e.dispatch_id == d.id))
                .where(_changed_since(since), e.to_status == status, e.from_status != status)
                .group_by(d.id)
                .having(first >= since)
            )
        )
        return [(hall, _aware(at), payload) for hall, at, payload in rows]


def _changed_since(since: datetime):
    """Every move stamps the dispatch's updated_at with the move's time (never earlier), so only the
    dispatches changed since `since` can have moved since: an index on updated_at finds those few
    instead of reading every audit event."""
    return dispatches.c.updated_at >= since


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
