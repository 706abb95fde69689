"""Status moves requested by staff or the system, each with its audit event."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..domain.cause import Cause
from ..domain.errors import Conflict, NotFound
from ..domain.model import Address, AuditEvent, Dispatch, Party
from ..domain.status import Status
from ..ports import UnitOfWork
from .job_contract import BOOK, CANCEL
from .notifications import announce, announce_many, queue_pickup_code
from .occurrence import Occurrence

# Nothing has reached a carrier yet: cancelling is only our own bookkeeping.
_CANCEL_LOCALLY = {Status.RECEIVED, Status.BOOKING_FAILED, Status.AWAITING_PICKUP}
_CANCEL_AT_CARRIER = {Status.BOOKING, Status.BOOKED, Status.LABEL_PRINTED}


async def load(uow: UnitOfWork, dispatch_id: str) -> Dispatch:
    d = await uow.dispatches.get(dispatch_id)
    if d is None:
        raise NotFound("no such dispatch")
    return d


async def move(
    uow: UnitOfWork, d: Dispatch, to: Status, *, at: datetime, actor: str, cause: Cause, **changes
) -> Dispatch:
    """Apply one move; Conflict when someone else moved the dispatch first."""
    after, event = d.moved(to, at=at, actor=actor, cause=cause, **changes)
    if not await uow.dispatches.save_move(d, after, event):
        raise Conflict("the dispatch changed meanwhile; reload and try again")
    # tracking: SMS, callbacks, poll state in this transaction
    await announce(uow, d, after, at, Occurrence.of_move(event, at))
    return after


async def move_many(
    uow: UnitOfWork, moves: list[tuple[Dispatch, Dispatch, AuditEvent]], *, at: datetime
) -> set[str]:
    """Apply many moves (from `Dispatch.moved`), each a compare-and-set with its audit event and what it
    sets off (`announce`), in a few statements; returns the ids that moved. Unlike `move`, a dispatch
    moved by someone else meanwhile is left out instead of failing the others."""
    if not moves:
        return set()
    moved = await uow.dispatches.save_moves(moves)
    await announce_many(uow, [move for move in moves if move[0].id in moved], at)
    return moved


async def note(uow: UnitOfWork, d: Dispatch, *, at: datetime, actor: str, cause: Cause, **detail) -> None:
    """An audit line that changes no status (a reprint, a cancel request ...)."""
    await uow.dispatches.add_event(d.id, AuditEvent(at, actor, cause, d.status, d.status, detail))


async def cancel(uow: UnitOfWork, dispatch_id: str, *, actor: str, now: datetime) -> Dispatch:
    """Cancel now if nothing was booked; otherwise ask the carrier first (a job), then cancel."""
    async with uow:
        d = await load(uow, dispatch_id)
        if d.status in _CANCEL_LOCALLY:
            return await move(uow, d, Status.CANCELLED, at=now, actor=actor, cause=Cause.CANCELLED_BY_STAFF)
        if d.status not in _CANCEL_AT_CARRIER:
            raise Conflict(f"状态为 {d.status.value} 的邮件不能取消")
        await note(uow, d, at=now, actor=actor, cause=Cause.CANCEL_REQUESTED)
        await uow.jobs.enqueue(
            CANCEL, {"dispatch_id": d.id, "actor": actor}, now=now, dedupe_key=f"cancel:{d.id}"
        )
        return d


async def request_booking(uow: UnitOfWork, dispatch_id: str, *, actor: str, now: datetime) -> Dispatch:
    """Staff book a dispatch by hand, or retry one whose booking failed (after correcting it)."""
    async with uow:
        d = await load(uow, dispatch_id)
        if d.status not in {Status.RECEIVED, Status.BOOKING_FAILED} or not d.needs_carrier:
            raise Conflict(f"状态为 {d.status.value} 的邮件不能下单")
        await note(uow, d, at=now, actor=actor, cause=Cause.BOOKING_REQUESTED)
        await uow.jobs.enqueue(BOOK, {"dispatch_id": d.id}, now=now, dedupe_key=f"book:{d.id}")
        return d


CORRECTABLE = {Status.RECEIVED, Status.BOOKING_FAILED, Status.AWAITING_PICKUP}


async def correct(
    uow: UnitOfWork, dispatch_id: str, *, actor: str, now: datetime,
    recipient: Party | None = None, address: Address | None = None,
) -> Dispatch:  # fmt: skip
    """Staff correct the recipient or address before booking (after the carrier rejected them)."""
    async with uow:
        d = await load(uow, dispatch_id)
        if d.status not in CORRECTABLE:
            raise Conflict(f"状态为 {d.status.value} 的邮件不能修改收件信息")
        changed = replace(d, recipient=recipient or d.recipient, address=address or d.address, updated_at=now)
        await uow.dispatches.save_contact(changed)
        fields = [name for name, value in (("recipient", recipient), ("address", address)) if value]
        await note(uow, d, at=now, actor=actor, cause=Cause.RECIPIENT_CORRECTED, fields=fields)
        if d.status is Status.AWAITING_PICKUP and changed.recipient.phone != d.recipient.phone:
            # the code went to the wrong number: it stops working, and a new one goes to the right one
            await uow.console.expire_pickup_code(d.id, now=now)
            await queue_pickup_code(uow, changed, now)
        return changed
