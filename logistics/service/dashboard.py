"""The console's dashboard: today's work, this month by township, delivery times and cost.

Definitions (shown on the page too):
- mailed this month: dispatches first handed over to EMS this calendar month (China time);
- days to delivery: from the approval system's completion time to the delivered move;
- on time: delivered within `ontime_days` days of completion;
- cost this month: the latest reconciliation run of the month (billed), else the tariff's estimate
  for this month's handed-over parcels."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ..storage.finance_repo import SqlFinanceRecords
from ..storage.tables import dispatch_events, dispatches
from .console_text import CHINA, cn_today, day_start
from .exceptions_queue import ATTENTION

# (weight_g, declared_value_fen, province, city, county, accepted_on) -> fen
Estimate = Callable[[list[tuple[int, int, str, str, str, date]]], int]
TODAY_MOVES = ("booked", "label_printed", "handed_over", "delivered", "picked_up")


@dataclass
class Dashboard:
    today: date
    by_status: dict[str, int]
    received_today: int
    moves_today: dict[str, int]
    by_town: list[tuple[str, int]]
    daily: list[tuple[date, int]]
    mailed_month: int
    delivered_month: int
    median_days: float | None
    ontime_rate: float | None
    ontime_days: float
    cost_fen: int | None
    cost_source: str  # "reconciliation" | "tariff" | ""
    attention: int = 0
    notes: list[str] = field(default_factory=list)


async def build(
    conn: AsyncConnection,
    *,
    now: datetime,
    ontime_days: float,
    estimate: Estimate | None = None,
    days: int = 30,
) -> Dashboard:
    today = cn_today(now)
    start_today, month_start = day_start(today), day_start(today.replace(day=1))
    series_start = day_start(today - timedelta(days=days - 1))
    by_status = dict(
        (await conn.execute(select(dispatches.c.status, func.count()).group_by(dispatches.c.status))).all()
    )
    received_today = await conn.scalar(
        select(func.count()).select_from(dispatches).where(dispatches.c.created_at >= start_today)
    )
    moves = await conn.execute(
        select(dispatch_events.c.to_status, func.count())
        .where(dispatch_events.c.at >= start_today, dispatch_events.c.to_status.in_(TODAY_MOVES))
        .where(dispatch_events.c.from_status != dispatch_events.c.to_status)
        .group_by(dispatch_events.c.to_status)
    )
    handed = await _moves_with_payload(conn, "handed_over", min(series_start, month_start))
    delivered = await _moves_with_payload(conn, "delivered", month_start)
    mailed = [(at, p) for at, p in handed if at >= month_start]
    towns = Counter((p["address"].get("town") or "（未填乡镇）") for _, p in mailed)
    per_day = Counter(at.astimezone(CHINA).date() for at, _ in handed if at >= series_start)
    durations = [
        (at - datetime.fromisoformat(p["completed_at"])).total_seconds() / 86400 for at, p in delivered
    ]
    cost, source = await _cost(conn, today, mailed, estimate)
    return Dashboard(
        today=today,
        by_status=by_status,
        received_today=received_today or 0,
        moves_today=dict(moves.all()),
        by_town=towns.most_common(),
        daily=[(d, per_day.get(d, 0)) for d in (today - timedelta(days=n) for n in range(days - 1, -1, -1))],
        mailed_month=len(mailed),
        delivered_month=len(delivered),
        median_days=statistics.median(durations) if durations else None,
        ontime_rate=sum(1 for x in durations if x <= ontime_days) / len(durations) if durations else None,
        ontime_days=ontime_days,
        cost_fen=cost,
        cost_source=source,
        attention=sum(by_status.get(s, 0) for s in ATTENTION),
    )


async def _moves_with_payload(
    conn: AsyncConnection, status: str, since: datetime
) -> list[tuple[datetime, dict]]:
    """(first move to `status` at or after `since`, the dispatch's payload), one per dispatch."""
    first = (
        select(dispatch_events.c.dispatch_id, func.min(dispatch_events.c.at).label("at"))
        .where(dispatch_events.c.to_status == status, dispatch_events.c.from_status != status)
        .group_by(dispatch_events.c.dispatch_id)
        .subquery()
    )
    rows = await conn.execute(
        select(first.c.at, dispatches.c.payload)
        .join(dispatches, dispatches.c.id == first.c.dispatch_id)
        .where(first.c.at >= since)
    )
    return [(_aware(at), payload) for at, payload in rows]


def _aware(at) -> datetime:
    from datetime import UTC

    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def _cost(
    conn: AsyncConnection, today: date, mailed, estimate: Estimate | None
) -> tuple[int | None, str]:
    runs = await SqlFinanceRecords(conn).list_runs(f"{today:%Y-%m}")
    if runs:
        return runs[0].summary["totals"]["billed_fen"], "reconciliation"
    if estimate is None:
        return None, ""
    parcels = [
        (p["weight_g"], p["declared_value_fen"], p["address"]["province"], p["address"]["city"],
         p["address"]["county"], at.astimezone(CHINA).date())
        for at, p in mailed
    ]  # fmt: skip
    return estimate(parcels), "tariff"
