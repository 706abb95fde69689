"""Reconciliation runs, closed months, and what the reconciliation needs to know of our shipments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.hall import DEFAULT_HALL
from ..domain.model import Dispatch
from ..domain.status import Status
from .dispatch_codec import dispatch_from_row as to_domain
from .finance_tables import finance_periods, reconciliation_runs
from .tables import dispatch_events, dispatches
from .tracking_tables import carrier_events

# Scans that prove the carrier had the parcel, when its 203 (handed_over) scan never reached us.
_LATER_SCANS = ("in_transit", "out_for_delivery", "delivered", "delivery_failed", "returning", "returned")
_RUN_BRIEF = [c for c in reconciliation_runs.c if c.name != "result"]


def _dialect(conn: AsyncConnection):
    return postgresql if conn.dialect.name == "postgresql" else sqlite


class SqlFinanceRecords:
    """`ports.FinanceRecords` on one open connection (the unit of work's). Runs and months belong to one
    hall: the unit of work's, or the default hall's when it has none (an admin acting for it); reads of
    shipments keep to the unit of work's hall when it has one."""

    def __init__(self, conn: AsyncConnection, hall: str | None = None):
        self._conn, self.hall = conn, hall
        self._own = hall or DEFAULT_HALL

    def _shipments(self, query, id_column=None):
        if self.hall is None:
            return query
        if id_column is None:
            return query.where(dispatches.c.hall == self.hall)
        ours = select(dispatches.c.id).where(dispatches.c.id == id_column, dispatches.c.hall == self.hall)
        return query.where(ours.exists())

    # ---- shipments --------------------------------------------------------------------------------

    async def waybilled_dispatches(self) -> list[Dispatch]:
        """Every dispatch that ever got a waybill number, whatever its status or month."""
        query = self._shipments(select(dispatches).where(dispatches.c.waybill_no.is_not(None)))
        rows = await self._conn.execute(query)
        return [to_domain(r) for r in rows]

    async def first_scans(self) -> tuple[dict[str, datetime], dict[str, datetime]]:
        """({waybill: first handed_over scan}, {waybill: first later scan}) from the carrier's events."""
        query = select(
            carrier_events.c.waybill_no, carrier_events.c.status, func.min(carrier_events.c.time)
        ).where(carrier_events.c.status.in_(("handed_over", *_LATER_SCANS)))
        if self.hall is not None:
            ours = select(dispatches.c.id).where(
                dispatches.c.waybill_no == carrier_events.c.waybill_no, dispatches.c.hall == self.hall
            )
            query = query.where(ours.exists())
        rows = await self._conn.execute(query.group_by(carrier_events.c.waybill_no, carrier_events.c.status))
        handed, later = {}, {}
        for waybill_no, status, time in rows:
            target = handed if status == "handed_over" else later
            if waybill_no not in target or time < target[waybill_no]:
                target[waybill_no] = time
        return handed, later

    async def handover_moves(self) -> dict[str, datetime]:
        """{dispatch id: when the audit trail first moved it to handed_over}."""
        query = select(dispatch_events.c.dispatch_id, func.min(dispatch_events.c.at)).where(
            dispatch_events.c.to_status == Status.HANDED_OVER.value
        )
        rows = await self._conn.execute(
            self._shipments(query, dispatch_events.c.dispatch_id).group_by(dispatch_events.c.dispatch_id)
        )
        return {dispatch_id: at for dispatch_id, at in rows}

    # ---- runs -------------------------------------------------------------------------------------

    async def insert_run(self, **values) -> bool:
        """Store a run unless one with the same input exists; True when this call stored it."""
        stmt = (
            _dialect(self._conn)
            .insert(reconciliation_runs)
            .on_conflict_do_nothing(index_elements=["hall", "period", "sha256", "tariff_sha256"])
        )
        return (await self._conn.execute(stmt.values(**values, hall=self._own))).rowcount == 1

    async def find_run(self, period: str, sha256: str, tariff_sha256: str):
        query = select(*_RUN_BRIEF).where(
            reconciliation_runs.c.hall == self._own,
            reconciliation_runs.c.period == period,
            reconciliation_runs.c.sha256 == sha256,
            reconciliation_runs.c.tariff_sha256 == tariff_sha256,
        )
        return (await self._conn.execute(query)).first()

    async def get_run(self, run_id: str):
        query = select(*_RUN_BRIEF).where(reconciliation_runs.c.id == run_id, self._run_in_hall())
        return (await self._conn.execute(query)).first()

    async def run_result(self, run_id: str) -> str | None:
        """The stored JSON report of a run, as text."""
        query = select(reconciliation_runs.c.result).where(
            reconciliation_runs.c.id == run_id, self._run_in_hall()
        )
        return await self._conn.scalar(query)

    async def list_runs(self, period: str | None = None) -> list:
        query = select(*_RUN_BRIEF).order_by(
            reconciliation_runs.c.created_at.desc(), reconciliation_runs.c.id
        )
        query = query.where(reconciliation_runs.c.hall == self._own)
        if period:
            query = query.where(reconciliation_runs.c.period == period)
        return list(await self._conn.execute(query))

    # ---- months -----------------------------------------------------------------------------------

    async def get_period(self, period: str):
        return (
            await self._conn.execute(
                select(finance_periods).where(
                    finance_periods.c.hall == self._own, finance_periods.c.period == period
                )
            )
        ).first()

    async def lock_period(self, period: str):
        """The month's row, created open if new, locked until the transaction ends
        (SQLite: BEGIN IMMEDIATE)."""
        stmt = (
            _dialect(self._conn)
            .insert(finance_periods)
            .on_conflict_do_nothing(index_elements=["hall", "period"])
        )
        await self._conn.execute(stmt.values(hall=self._own, period=period, status="open"))
        query = (
            select(finance_periods)
            .where(finance_periods.c.hall == self._own, finance_periods.c.period == period)
            .with_for_update()
        )
        return (await self._conn.execute(query)).one()

    async def close_period(self, period: str, *, run_id: str, by: str, at: datetime) -> None:
        await self._conn.execute(
            update(finance_periods)
            .where(finance_periods.c.hall == self._own, finance_periods.c.period == period)
            .values(status="closed", run_id=run_id, closed_by=by, closed_at=at)
        )

    def _run_in_hall(self):
        """A run by id is the hall's own: a scoped unit of work never reads another hall's."""
        return reconciliation_runs.c.hall == self._own if self.hall is not None else true()
