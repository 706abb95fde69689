"""A dispatch's audit trail (操作留痕) in the console says every cause in Chinese: an offline booking from the
number pool and a carrier scan too; a cause an older version stored shows as it was. The API keeps the
recorded English causes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from logistics.domain.cause import Cause
from logistics.domain.status import Status
from logistics.ports import TrackEvent
from logistics.service import dispatches as dispatch_service
from logistics.service import pool, tracking
from logistics.service.console_text import cn_time
from logistics.service.intake import IntakeRequest, record_intake
from logistics.storage.tables import dispatch_events
from logistics.web.keys import DEPS
from tests.fixtures.dispatches import NOW, make_dispatch
from tests.integration.console.test_accounts import Site, add_user

POOL_NUMBER = "1100000000990"
SCAN_AT = NOW + timedelta(minutes=5)
OLD_CAUSE = "moved by hand (an older release)"


@pytest.fixture
async def site(db_url):
    s = await Site(db_url).start()
    yield s
    await s.stop()


async def test_the_trail_says_a_pool_booking_and_a_carrier_scan_in_chinese(site):
    token = await add_user(site, "desk")
    headers = await site.session("desk")
    dispatch_id = await offline_booked_then_scanned(site)

    async with site.http.get(
        f"{site.base}/console/dispatches/{dispatch_id}", headers={"Cookie": headers["Cookie"]}
    ) as r:
        assert r.status == 200
        trail = audit_causes(await r.text())
    assert trail == [
        f"{Cause.CARRIER_SCAN.text} 305（{cn_time(SCAN_AT, seconds=True)}）",
        Cause.BOOKED_OFFLINE.text,
        OLD_CAUSE,
        Cause.BOOKING.text,
        Cause.INTAKE.text,
    ]
    assert trail[0].startswith("邮政轨迹扫描") and trail[1].startswith("邮政系统不可达")

    async with site.http.get(
        f"{site.base}/api/v1/dispatches/{dispatch_id}", headers={"Authorization": f"Bearer {token}"}
    ) as r:
        causes = [e["cause"] for e in (await r.json())["events"]]
    assert causes == [
        "intake",
        "booking with the carrier",
        OLD_CAUSE,
        "carrier unreachable: booked offline with a pre-allocated number",
        causes[-1],
    ]
    scan_code, scan_time = re.fullmatch(r"carrier scan (\S+) at (\S+)", causes[-1]).groups()
    assert (scan_code, datetime.fromisoformat(scan_time)) == ("305", SCAN_AT)


async def offline_booked_then_scanned(site: Site) -> str:
    """A dispatch booked with a pool number while the carrier is away, then scanned in transit."""
    d = make_dispatch("TRAIL-1")
    async with site.app[DEPS].uow() as uow:
        await record_intake(uow, IntakeRequest(d, "TRAIL-1", NOW, False, 5))
        d = await uow.dispatches.get(d.id)
        d = await dispatch_service.move(
            uow, d, Status.BOOKING, at=NOW, actor="system:booking", cause=Cause.BOOKING
        )
        await uow.pool.add([POOL_NUMBER], now=NOW)
    async with site.engine.begin() as conn:  # an older row's free-text cause
        await conn.execute(
            insert(dispatch_events).values(
                dispatch_id=d.id, at=NOW, actor="system", cause=OLD_CAUSE, from_status=None,
                to_status=None, detail={},
            )
        )  # fmt: skip
    assert await pool.book_offline(site.app[DEPS], d)
    scan = TrackEvent(
        waybill_no=POOL_NUMBER, time=SCAN_AT, status=Status.IN_TRANSIT, raw_code="305",
        description="离开【吉安中心】，下一站【南昌中心】", location="吉安市",
    )  # fmt: skip
    await tracking.record(site.app[DEPS].uow(), [scan], now=SCAN_AT, source="push")
    async with site.app[DEPS].uow(read_only=True) as uow:
        assert (await uow.dispatches.get(d.id)).status is Status.IN_TRANSIT
    return d.id


def audit_causes(html: str) -> list[str]:
    """The 事由 column of the 操作留痕 table, newest first as the page lists it."""
    audit = html[html.index("操作留痕") :]
    audit = audit[: audit.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", audit, flags=re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in rows]
    return [re.sub(r"<[^>]+>", "", row[2]).strip() for row in cells if row]
