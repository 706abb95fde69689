"""Carrier scans in: store every one, apply the ones that move a dispatch forward.

A scan is applied only when it is not older than the newest scan already applied and the status
table allows the move; anything else (a duplicate, a late "in transit" after "delivered") is stored
for the record and never moves a dispatch backwards."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.status import TERMINAL, TRANSITIONS, Status
from ..ports import TrackEvent
from ..storage import dispatch_repo, tracking_repo
from .dispatches import move

CARRIER_ACTOR = "carrier"
_REASON_STATUSES = frozenset({Status.DELIVERY_FAILED, Status.RETURNING, Status.RETURNED})


def applies(current: Status, scan_status: Status, scan_time: datetime, applied_at: datetime | None) -> bool:
    """Whether a scan confirms or advances the current status (False: store it only)."""
    if applied_at is not None and scan_time < applied_at:
        return False
    return scan_status == current or scan_status in TRANSITIONS[current]


@dataclass
class Recorded:
    new: int = 0
    duplicates: int = 0
    applied: int = 0
    moves: int = 0


async def record(
    conn: AsyncConnection,
    events: list[TrackEvent],
    *,
    now: datetime,
    source: str,
    known_codes: frozenset[str] | None = None,
) -> Recorded:
    """Store scans (any waybills) and apply them in time order, in the caller's transaction."""
    result, counts = Recorded(), Counter()
    by_waybill: dict[str, list[TrackEvent]] = {}
    for e in events:
        by_waybill.setdefault(e.waybill_no, []).append(e)
    for waybill_no, scans in by_waybill.items():
        new = await tracking_repo.insert_events(conn, scans, source=source, now=now)
        result.new += new
        result.duplicates += len(scans) - new
        if known_codes is not None and new:
            for code in {s.raw_code for s in scans if s.raw_code not in known_codes}:
                counts["tracking.unknown_code"] += 1
                counts[f"tracking.unknown_code.{code[:20]}"] += 1
        applied, moves = await apply_pending(conn, waybill_no, now=now)
        result.applied += applied
        result.moves += moves
    counts["tracking.events_new"] += result.new
    counts["tracking.events_duplicate"] += result.duplicates
    counts[f"tracking.events_{source}"] += len(events)
    await tracking_repo.count(conn, counts)
    return result


async def apply_pending(conn: AsyncConnection, waybill_no: str, *, now: datetime) -> tuple[int, int]:
    """Apply stored, unapplied scans of one parcel to its dispatch; returns (applied, moves)."""
    d = await dispatch_repo.find(conn, waybill_no=waybill_no)
    if d is None:
        return 0, 0  # not ours (yet): kept, applied once the dispatch holds this number
    state = await tracking_repo.get(conn, waybill_no)
    applied_at = state.applied_at if state else None
    last_event_at = state.last_event_at if state else None
    applied_ids, moves = [], 0
    for scan in await tracking_repo.pending_events(conn, waybill_no, applied_at):
        last_event_at = max(last_event_at or scan.time, scan.time)
        status = Status(scan.status)
        if not applies(d.status, status, scan.time, applied_at):
            continue
        if status != d.status:
            reason = {"reason": scan.reason[:500]} if status in _REASON_STATUSES else {}
            d = await move(
                conn, d, status, at=now, actor=f"{CARRIER_ACTOR}:{scan.raw_code}",
                cause=f"carrier scan {scan.raw_code} at {scan.time.isoformat()}", **reason,
            )  # fmt: skip
            moves += 1
        applied_ids.append(scan.id)
        applied_at = scan.time
    await tracking_repo.mark_applied(conn, applied_ids)
    if state is not None:
        await tracking_repo.save_progress(
            conn, d.id, last_event_at=last_event_at, applied_at=applied_at,
            active=False if d.status in TERMINAL else None,
        )  # fmt: skip
    return len(applied_ids), moves
