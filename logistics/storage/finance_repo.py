"""Reconciliation runs, closed months, and what the reconciliation needs to know of our shipments."""

from __future__ import annotations

from datetime import date, datetime

import orjson
from sqlalchemy import Date, String, cast, func, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.hall import DEFAULT_HALL
from ..domain.shipped import ShippedParcel
from ..domain.status import Status
from .finance_tables import finance_periods, reconciliation_runs
from .tables import dispatch_events, dispatches
from .tracking_tables import carrier_events

# Scans that prove the carrier had the parcel, when its 203 (handed_over) scan never reached us.
_LATER_SCANS = ("in_transit", "out_for_delivery", "delivered", "delivery_failed", "returning", "returned")
_RUN_BRIEF = [c for c in reconciliation_runs.c if c.name != "result"]


def _dialect(conn: AsyncConnection):
    return postgresql if conn.dialect.name == "postgresql" else sqlite


_FIELDS = ("department_name", "weight_g", "declared_value_fen", ("address", "province"), ("address", "city"),
           ("address", "county"))  # fmt: skip


def _payload_fields(payload, sqlite_db: bool) -> list:
    if sqlite_db:
        paths = ["$." + (f if isinstance(f, str) else ".".join(f)) for f in _FIELDS]
        return [func.json_extract(payload, *paths, type_=String)]
    return [
        payload[f].as_integer() if f in ("weight_g", "declared_value_fen") else payload[f].as_string()
        for f in _FIELDS
    ]


def _day(value: str | date) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _first(key, time, where):
    """(key, first) per key: the earliest `time` of the rows matching `where`."""
    return select(key.label("key"), func.min(time).label("first")).where(where).group_by(key).subquery()


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

    async def shipped_parcels(self) -> list[ShippedParcel]:
        """Every dispatch that ever got a waybill number, whatever its status or month, as reconciliation
        sees it, in one query: the payload fields it needs taken out of the JSON by the database, and
        the acceptance day (China time) of the carrier's first handed_over scan, else the hall's first
        handover move, else the first later scan."""
        d, events, moves = dispatches.c, carrier_events.c, dispatch_events.c
        handed = _first(events.waybill_no, events.time, events.status == "handed_over")
        later = _first(events.waybill_no, events.time, events.status.in_(_LATER_SCANS))
        moved = _first(moves.dispatch_id, moves.at, moves.to_status == Status.HANDED_OVER.value)
        accepted = func.coalesce(handed.c.first, moved.c.first, later.c.first)
        sqlite_db = self._conn.dialect.name == "sqlite"
        day = (
            func.date(accepted, "+8 hours")
            if sqlite_db
            else cast(func.timezone("Asia/Shanghai", accepted), Date)
        )
        query = (
            select(d.waybill_no, d.department_code, *_payload_fields(d.payload, sqlite_db), d.status, day)
            .outerjoin_from(dispatches, handed, handed.c.key == d.waybill_no)
            .outerjoin(moved, moved.c.key == d.id)
            .outerjoin(later, later.c.key == d.waybill_no)
            .where(d.waybill_no.is_not(None))
        )
        query = self._shipments(query)
        rows = (await self._conn.execute(query)).all()  # fetched at once, not row by row
        days: dict = {None: None}
        cancelled = Status.CANCELLED.value
        parcels = []
        for row in rows:
            if sqlite_db:  # one JSON array of the fields: the payload parsed once, not once per field
                waybill_no, department_code, fields, status, accepted_on = row
                name, weight_g, value_fen, province, city, county = orjson.loads(fields)
            else:
                (
                    waybill_no,
                    department_code,
                    name,
                    weight_g,
                    value_fen,
                    province,
                    city,
                    county,
                    status,
                    accepted_on,
                ) = row
            if accepted_on not in days:
                days[accepted_on] = (
                    date.fromisoformat(accepted_on) if isinstance(accepted_on, str) else accepted_on
                )
            parcels.append(
                ShippedParcel(
                    waybill_no, department_code, weight_g, value_fen or 0, province, city, county,
                    days[accepted_on], status == cancelled, name or "",
                )
            )  # fmt: skip
        return parcels

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
