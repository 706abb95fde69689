"""Carrier scans in: store every one, apply the ones that move a dispatch forward.

A scan is applied only when it is not older than the newest scan already applied and the status
table allows the move; anything else (a duplicate, a late "in transit" after "delivered") is stored
for the record and never moves a dispatch backwards."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ..domain.cause import Cause, ScanRef
from ..domain.errors import Conflict
from ..domain.model import AuditEvent, Dispatch
from ..domain.status import TERMINAL, TRANSITIONS, Status
from ..domain.village import arrival_status
from ..ports import TrackEvent, UnitOfWork
from ..ports.repositories.tracking import PollState, StoredScan
from .notifications import announce
from .occurrence import Occurrence

CARRIER_ACTOR = "carrier"
CARRIER_DONE = TERMINAL | {Status.AWAITING_PICKUP}  # a village point's parcel: the carrier's part is over
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


@dataclass
class Progress:
    """Where one followed parcel stands after its scans were applied (written by the caller)."""

    dispatch_id: str
    status: Status
    started_at: datetime
    last_event_at: datetime | None
    applied_at: datetime | None

    def row(self) -> dict:
        return {
            "dispatch_id": self.dispatch_id,
            "last_event_at": self.last_event_at,
            "applied_at": self.applied_at,
            "active": False if self.status in CARRIER_DONE else None,
        }


async def record(
    uow: UnitOfWork,
    events: list[TrackEvent],
    *,
    now: datetime,
    source: str,
    known_codes: frozenset[str] | None = None,
) -> Recorded:
    """Store scans (any waybills) and apply them in time order, in one transaction."""
    async with uow:
        result, progress = await store_and_apply(
            uow, events, {e.waybill_no for e in events}, now=now, source=source, known_codes=known_codes
        )
        await uow.tracking.save_progress_many([p.row() for p in progress.values()])
    return result


async def store_and_apply(
    uow: UnitOfWork,
    events: list[TrackEvent],
    waybill_nos: Iterable[str],
    *,
    now: datetime,
    source: str,
    known_codes: frozenset[str] | None = None,
) -> tuple[Recorded, dict[str, Progress]]:
    """Store scans and apply every pending one of `waybill_nos`, a few statements for the whole batch, in
    the open unit of work; returns the counts and each followed parcel's progress, which the caller
    writes."""
    result, counts = Recorded(), Counter()
    new_by_waybill = await uow.tracking.store_events(events, source=source, now=now)
    result.new = sum(new_by_waybill.values())
    result.duplicates = len(events) - result.new
    if known_codes is not None:
        unknown = {(e.waybill_no, e.raw_code) for e in events if e.raw_code not in known_codes}
        for waybill_no, code in unknown:
            if new_by_waybill[waybill_no]:
                counts["tracking.unknown_code"] += 1
                counts[f"tracking.unknown_code.{code[:20]}"] += 1
    progress = await apply_pending_many(uow, sorted(set(waybill_nos)), now=now, result=result)
    counts["tracking.events_new"] += result.new
    counts["tracking.events_duplicate"] += result.duplicates
    counts[f"tracking.events_{source}"] += len(events)
    await uow.tracking.count(counts)
    return result, progress


async def apply_pending_many(
    uow: UnitOfWork, waybill_nos: list[str], *, now: datetime, result: Recorded
) -> dict[str, Progress]:
    """Apply stored, unapplied scans of several parcels to their dispatches (not ours yet: kept, and
    applied once a dispatch holds the number). One select each of dispatches, poll state and pending
    scans; moves of the same kind in one compare-and-set statement; Conflict when a dispatch moved
    meanwhile, as `move` would."""
    if not waybill_nos:
        return {}
    found = await uow.tracking.dispatches_by_waybill(waybill_nos)
    if not found:
        return {}
    states = await uow.tracking.get_many(list(found))
    pending = await uow.tracking.pending_events_many(list(found))
    progress, applied_ids, moves = {}, [], []
    for waybill_no, d in found.items():
        p = _apply(d, states.get(waybill_no), pending.get(waybill_no, ()), now, applied_ids, moves)
        if p is not None:
            progress[waybill_no] = p
    await _save_moves(uow, moves, now)
    await uow.tracking.mark_applied(applied_ids)
    result.applied += len(applied_ids)
    result.moves += len(moves)
    return progress


def _apply(
    d: Dispatch,
    state: PollState | None,
    scans: Iterable[StoredScan],
    now: datetime,
    applied_ids: list,
    moves: list,
) -> Progress | None:
    """Walk one parcel's pending scans in time order (pure): collects applied scan ids and the moves
    (before, after, audit event, the scan's occurrence); returns its progress when it is followed."""
    applied_at = state.applied_at if state else None
    last_event_at = state.last_event_at if state else None
    for scan in scans:
        if applied_at is not None and scan.time < applied_at:
            continue  # older than the newest applied scan: stored for the record only
        last_event_at = max(last_event_at or scan.time, scan.time)
        status = arrival_status(d, Status(scan.status))
        if not applies(d.status, status, scan.time, applied_at):
            continue
        if status != d.status:
            reason = {"reason": scan.reason[:500]} if status in _REASON_STATUSES else {}
            after, event = d.moved(
                status, at=now, actor=f"{CARRIER_ACTOR}:{scan.raw_code}",
                cause=Cause.CARRIER_SCAN, scan=ScanRef(scan.raw_code, scan.time), **reason,
            )  # fmt: skip
            moves.append((d, after, event, Occurrence(scan.time, reason.get("reason", ""), scan.location)))
            d = after
        applied_ids.append(scan.id)
        applied_at = scan.time
    if state is None:
        return None
    return Progress(d.id, d.status, state.started_at, last_event_at, applied_at)


async def _save_moves(
    uow: UnitOfWork, moves: list[tuple[Dispatch, Dispatch, AuditEvent, Occurrence]], now
) -> None:
    """Each parcel moves from its first to its last status in one compare-and-set (grouped by the pair),
    with an audit line and the notices (`announce`) of every step, each with its own scan's occurrence,
    as one `move` per step would."""
    if not moves:
        return
    first: dict[str, Dispatch] = {}
    last: dict[str, Dispatch] = {}
    for before, after, _, _ in moves:
        first.setdefault(before.id, before)
        last[after.id] = after
    groups: dict[tuple, list[str]] = {}
    for dispatch_id, before in first.items():
        after = last[dispatch_id]
        changes = (("reason", after.reason),) if after.reason != before.reason else ()
        groups.setdefault((before.status.value, after.status.value, changes), []).append(dispatch_id)
    for (from_status, to_status, changes), ids in groups.items():
        moved = await uow.tracking.move_dispatches(
            ids, from_status=from_status, to_status=to_status, at=now, **dict(changes)
        )
        if len(moved) != len(ids):
            raise Conflict("the dispatch changed meanwhile; reload and try again")
    await uow.dispatches.add_events([(before.id, event) for before, _, event, _ in moves])
    for before, after, _, occurrence in moves:
        await announce(uow, before, after, now, occurrence)  # tracking: SMS, callbacks, poll state
