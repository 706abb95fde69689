"""Stored dispatches in a given state and statements (CSV) for the reconciliation tests."""

from __future__ import annotations

import itertools
from datetime import datetime

from logistics.domain.model import Address
from logistics.domain.status import Status
from logistics.ports import TrackEvent
from logistics.service import dispatches as dispatch_service
from logistics.service.intake import IntakeRequest, record_intake
from logistics.storage.tracking import SqlTrackingRecords
from logistics.storage.unit_of_work import SqlUnitOfWork
from tests.fixtures.dispatches import NOW, make_dispatch

HEADER = "邮件号,收寄日期,寄达省,寄达市,寄达县,计费重量(克),资费(元),保价费(元),其他费用(元),应收合计(元)"
WAYBILLS = (f"1180000{n:06d}" for n in itertools.count(1))
CASES = (f"FIN{n:05d}" for n in itertools.count(1))


async def stored(
    engine,
    *,
    handed_over_at: datetime | None = None,
    scan_at: datetime | None = None,
    cancelled: bool = False,
    booked: bool = True,
    address: Address | None = None,
    **over,
):
    """A dispatch, booked with a waybill unless told not, handed over (audit move and/or carrier scan)."""
    d = make_dispatch(next(CASES), **({"address": address} if address else {}), **over)
    async with engine.begin() as conn:
        await record_intake(SqlUnitOfWork.on(conn), IntakeRequest(d, d.case_no, NOW, False, 5))
        if booked:
            d = await dispatch_service.move(
                SqlUnitOfWork.on(conn),
                d,
                Status.BOOKED,
                at=NOW,
                actor="test",
                cause="setup",
                waybill_no=next(WAYBILLS),
            )
        if handed_over_at:
            d = await dispatch_service.move(
                SqlUnitOfWork.on(conn),
                d,
                Status.HANDED_OVER,
                at=handed_over_at,
                actor="staff:li",
                cause="handover confirmed",
            )
        if scan_at:
            scan = TrackEvent(d.waybill_no, scan_at, Status.HANDED_OVER, "203", "收寄计费信息")
            await SqlTrackingRecords(conn).insert_events([scan], source="push", now=scan_at)
        if cancelled:
            d = await dispatch_service.move(
                SqlUnitOfWork.on(conn), d, Status.CANCELLED, at=NOW, actor="test", cause="setup"
            )
    return d


def line(waybill_no: str, day: str, total: str = "8.00", weight: str = "500", place=None) -> str:
    province, city, county = place or ("江西省", "吉安市", "安福县")
    return f"{waybill_no},{day},{province},{city},{county},{weight},{total},0.00,0.00,{total}"


def statement(*lines: str, title: str = "中国邮政速递物流 月结对账单") -> bytes:
    return "\n".join([title, HEADER, *lines, ""]).encode("utf-8")
