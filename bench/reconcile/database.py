"""A certpost SQLite database holding the benchmark's shipments as booked, handed-over dispatches.

Written once through the real tables (migrations, the dispatch codec) and cached beside the statements,
so `certpost reconcile` reads them as it would on a hall's database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import insert

from logistics.domain.model import Address, DeliveryMethod, Direction, Dispatch, Item, Party, order_no_for
from logistics.domain.status import Status
from logistics.storage.db import create_engine
from logistics.storage.dispatch_codec import dispatch_row
from logistics.storage.migrate import upgrade
from logistics.storage.tables import dispatches
from logistics.storage.tracking_tables import carrier_events
from reconciliation.matching import ShippedParcel

DEPARTMENT_NAMES = {
    "SCJGJ": "安福县市场监督管理局",
    "ZRZYJ": "安福县自然资源局",
    "GAJ": "安福县公安局",
    "RSJ": "安福县人力资源和社会保障局",
    "MZJ": "安福县民政局",
    "WSJKW": "安福县卫生健康委员会",
    "JTYSJ": "安福县交通运输局",
    "ZJJ": "安福县住房和城乡建设局",
}
_BATCH = 20_000


def url_of(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def build(path: Path, parcels: list[ShippedParcel]) -> None:
    """The database at `path`, made once (a half-written one is never left under that name)."""
    if path.exists():
        return
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    asyncio.run(_write(url_of(partial), parcels))
    partial.rename(path)


async def _write(url: str, parcels: list[ShippedParcel]) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        for start in range(0, len(parcels), _BATCH):
            rows, scans = [], []
            for i, p in enumerate(parcels[start : start + _BATCH], start):
                d = _dispatch(i, p)
                rows.append(dispatch_row(d, "0" * 64, {}))
                accepted = datetime.combine(p.accepted_on, time(2, 0), UTC)
                scans.append(_scan(p.waybill_no, accepted))
            async with engine.begin() as conn:
                await conn.execute(insert(dispatches), rows)
                await conn.execute(insert(carrier_events), scans)
    finally:
        await engine.dispose()


def _dispatch(i: int, p: ShippedParcel) -> Dispatch:
    dispatch_id = str(uuid.uuid4())
    created = datetime.combine(p.accepted_on, time(1, 0), UTC) - timedelta(days=1)
    return Dispatch(
        id=dispatch_id,
        client_id="approval",
        case_no=f"AF{i:09d}",
        matter_name="食品经营许可证核发",
        matter_code="11360829MB1234567X4000113001",
        department_code=p.department_code,
        department_name=DEPARTMENT_NAMES[p.department_code],
        direction=Direction.OUTBOUND,
        delivery_method=DeliveryMethod.MAIL,
        recipient=Party("王小明", "13807961234"),
        address=Address(p.province, p.city, p.county, "王屯村12号", "343200", "洲湖镇"),
        items=(Item("licence", "食品经营许可证", f"JY{i:014d}", 1),),
        weight_g=p.weight_g,
        declared_value_fen=p.declared_value_fen,
        completed_at=created,
        created_at=created,
        status=Status.HANDED_OVER,
        order_no=order_no_for(dispatch_id, Direction.OUTBOUND),
        waybill_no=p.waybill_no,
        updated_at=created,
    )


def _scan(waybill_no: str, at: datetime) -> dict:
    return dict(
        waybill_no=waybill_no, time=at, raw_code="203", status="handed_over", description="收寄计费信息",
        location="安福县", reason="", extra={}, source="push", applied=True, received_at=at,
    )  # fmt: skip
