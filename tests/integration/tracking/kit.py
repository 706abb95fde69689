"""Helpers for tracking tests on a real database: a booked dispatch, scans, notices."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from logistics.domain.status import Status
from logistics.ports import TrackEvent
from logistics.service.dispatches import load, move
from logistics.service.views import dispatch_json
from logistics.storage.dispatch_repo import SqlDispatches
from logistics.storage.tables import jobs
from logistics.storage.tracking_tables import notices
from logistics.storage.unit_of_work import SqlUnitOfWork
from tests.fixtures.dispatches import NOW, make_dispatch

CODES = {
    Status.HANDED_OVER: "203", Status.IN_TRANSIT: "305", Status.OUT_FOR_DELIVERY: "702",
    Status.DELIVERED: "704", Status.DELIVERY_FAILED: "705", Status.RETURNED: "714",
}  # fmt: skip


class FakeClock:
    def __init__(self, now=NOW):
        self.t = now

    def now(self):
        return self.t


async def booked_dispatch(engine, case_no="AF-T1", waybill_no="1100000000013", *, at=NOW):
    d = make_dispatch(case_no)
    async with engine.begin() as conn:
        await SqlDispatches(conn).insert_new(d, request_hash="h-" + case_no, response=dispatch_json(d))
        d = await move(SqlUnitOfWork.on(conn), d, Status.BOOKING, at=at, actor="test", cause="booking")
        d = await move(
            SqlUnitOfWork.on(conn),
            d,
            Status.BOOKED,
            at=at,
            actor="test",
            cause="booked",
            waybill_no=waybill_no,
        )
    return d


def scan(status: Status, minutes: int, waybill_no="1100000000013", code=None, text="扫描") -> TrackEvent:
    return TrackEvent(
        waybill_no=waybill_no, time=NOW + timedelta(minutes=minutes), status=status,
        raw_code=code or CODES.get(status, "305"), description=text, location="吉安市",
        reason=text if status is Status.DELIVERY_FAILED else "",
    )  # fmt: skip


async def status_of(engine, dispatch_id):
    async with engine.connect() as conn:
        return (await load(SqlUnitOfWork.on(conn), dispatch_id)).status


async def notices_of(engine, dispatch_id):
    async with engine.connect() as conn:
        rows = await conn.execute(select(notices).where(notices.c.dispatch_id == dispatch_id))
        return sorted((r.channel, r.kind) for r in rows)


async def jobs_of(engine, kind):
    async with engine.connect() as conn:
        return list(await conn.execute(select(jobs).where(jobs.c.kind == kind)))
