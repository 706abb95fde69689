"""Reconciliation runs, closed months, and what the reconciliation needs to know of our shipments."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import String, func, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.status import Status
from ..ports.repositories.finance import Waybilled
from .finance_tables import finance_periods, reconciliation_runs
from .tables import dispatch_events, dispatches
from .tracking_tables import carrier_events

# Scans that prove the carrier had the parcel, when its 203 (handed_over) scan never reached us.
_LATER_SCANS = ("in_transit", "out_for_delivery", "delivered", "delivery_failed", "returning", "returned")
_RUN_BRIEF = [c for c in reconciliation_runs.c if c.name != "result"]


def _dialect(conn: AsyncConnection):
    return postgresql if conn.dialect.name == "postgresql" else sqlite


class SqlFinanceRecords:
    """`ports.FinanceRecords` on one open connection (the unit of work's)."""

    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    # ---- shipments --------------------------------------------------------------------------------

    async def waybilled(self) -> list[Waybilled]:
        """Every dispatch that ever got a waybill number, whatever its status or month: its columns and
        the few payload fields reconciliation needs, taken out of the JSON by the database."""
        p, d = dispatches.c.payload, dispatches.c
        rows = await self._conn.execute(
            select(
                d.id, d.waybill_no, d.department_code, p["department_name"].as_string(),
                p["weight_g"].as_integer(), p["declared_value_fen"].as_integer(),
                p[("address", "province")].as_string(), p[("address", "city")].as_string(),
                p[("address", "county")].as_string(), d.status,
            ).where(d.waybill_no.is_not(None))
        )  # fmt: skip
        return list(map(Waybilled._make, rows))

    async def first_scans(self) -> tuple[dict[str, datetime], dict[str, datetime]]:
        """({waybill: first handed_over scan}, {waybill: first later scan}) from the carrier's events."""
        rows = await self._conn.execute(
            select(
                carrier_events.c.waybill_no, carrier_events.c.status, self._min_time(carrier_events.c.time)
            )
            .where(carrier_events.c.status.in_(("handed_over", *_LATER_SCANS)))
            .group_by(carrier_events.c.waybill_no, carrier_events.c.status)
        )
        handed, later = {}, {}
        for waybill_no, status, stored in rows:
            time = self._time(stored)
            target = handed if status == "handed_over" else later
            if waybill_no not in target or time < target[waybill_no]:
                target[waybill_no] = time
        return handed, later

    async def handover_moves(self) -> dict[str, datetime]:
        """{dispatch id: when the audit trail first moved it to handed_over}."""
        rows = await self._conn.execute(
            select(dispatch_events.c.dispatch_id, self._min_time(dispatch_events.c.at))
            .where(dispatch_events.c.to_status == Status.HANDED_OVER.value)
            .group_by(dispatch_events.c.dispatch_id)
        )
        return {dispatch_id: self._time(at) for dispatch_id, at in rows}

    def _min_time(self, column):
        """min(column); on SQLite as the stored text, which `_time` parses several times faster than the
        column type's own converter (a month holds hundreds of thousands of scans)."""
        if self._conn.dialect.name == "sqlite":
            return type_coerce(func.min(column), String)
        return func.min(column)

    @staticmethod
    def _time(value: datetime | str) -> datetime:
        if isinstance(value, str):  # SQLite's UTC text, as UTCDateTime stores it
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value

    # ---- runs -------------------------------------------------------------------------------------

    async def insert_run(self, **values) -> bool:
        """Store a run unless one with the same input exists; True when this call stored it."""
        stmt = (
            _dialect(self._conn)
            .insert(reconciliation_runs)
            .on_conflict_do_nothing(index_elements=["period", "sha256", "tariff_sha256"])
        )
        return (await self._conn.execute(stmt.values(**values))).rowcount == 1

    async def find_run(self, period: str, sha256: str, tariff_sha256: str):
        query = select(*_RUN_BRIEF).where(
            reconciliation_runs.c.period == period,
            reconciliation_runs.c.sha256 == sha256,
            reconciliation_runs.c.tariff_sha256 == tariff_sha256,
        )
        return (await self._conn.execute(query)).first()

    async def get_run(self, run_id: str):
        query = select(*_RUN_BRIEF).where(reconciliation_runs.c.id == run_id)
        return (await self._conn.execute(query)).first()

    async def run_result(self, run_id: str) -> str | None:
        """The stored JSON report of a run, as text."""
        query = select(reconciliation_runs.c.result).where(reconciliation_runs.c.id == run_id)
        return await self._conn.scalar(query)

    async def list_runs(self, period: str | None = None) -> list:
        query = select(*_RUN_BRIEF).order_by(
            reconciliation_runs.c.created_at.desc(), reconciliation_runs.c.id
        )
        if period:
            query = query.where(reconciliation_runs.c.period == period)
        return list(await self._conn.execute(query))

    # ---- months -----------------------------------------------------------------------------------

    async def get_period(self, period: str):
        return (
            await self._conn.execute(select(finance_periods).where(finance_periods.c.period == period))
        ).first()

    async def lock_period(self, period: str):
        """The month's row, created open if new, locked until the transaction ends
        (SQLite: BEGIN IMMEDIATE)."""
        stmt = _dialect(self._conn).insert(finance_periods).on_conflict_do_nothing(index_elements=["period"])
        await self._conn.execute(stmt.values(period=period, status="open"))
        query = select(finance_periods).where(finance_periods.c.period == period).with_for_update()
        return (await self._conn.execute(query)).one()

    async def close_period(self, period: str, *, run_id: str, by: str, at: datetime) -> None:
        await self._conn.execute(
            update(finance_periods)
            .where(finance_periods.c.period == period)
            .values(status="closed", run_id=run_id, closed_by=by, closed_at=at)
        )
