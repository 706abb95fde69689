"""Booking through the carrier, exactly once.

Our order number is the carrier's idempotency handle. Whenever an earlier attempt may have reached the
carrier (a retried job, a dispatch already in `booking`, an in-process retry), we first ask the carrier
whether it holds a booking under that number, and only book when it does not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from ..domain.cause import Cause
from ..domain.errors import Conflict, NotFound
from ..domain.model import Dispatch
from ..domain.status import Status
from ..ports import (
    Booking,
    CarrierAuthError,
    CarrierError,
    CarrierGateway,
    CarrierRejected,
    CarrierUnavailable,
    CarrierUnreachable,
    NotSupported,
    Shipment,
    UnitOfWork,
    is_wait,
)
from . import pool
from .deps import Deps
from .dispatches import load, move, move_many, note
from .halls import UnknownHall
from .job_contract import BOOK, CANCEL, COMPLETED, POOL_REFILL, SYNC_OFFLINE, GiveUp, Job, RetryLater
from .resilience import carrier_retry
from .shipments import shipment_of

log = logging.getLogger("certpost.booking")

BOOKABLE = {Status.RECEIVED, Status.BOOKING, Status.BOOKING_FAILED}
IN_PROCESS_ATTEMPTS = 3
LONGEST_IN_PROCESS_WAIT_S = 5.0  # a longer Retry-After frees the worker: the job comes back later
SYSTEM = "system:booking"


def _wait(retry_state) -> float:
    error = retry_state.outcome.exception()
    if getattr(error, "retry_after", None):
        return error.retry_after
    return wait_random_exponential(multiplier=0.2, max=LONGEST_IN_PROCESS_WAIT_S)(retry_state)


def _long_wait_asked(retry_state) -> bool:
    return (getattr(retry_state.outcome.exception(), "retry_after", None) or 0) > LONGEST_IN_PROCESS_WAIT_S


async def book_once(
    carrier: CarrierGateway, shipment: Shipment, *, look_first: bool, reached: list[bool] | None = None
) -> Booking:
    """Book, retrying transient faults in-process; never a second booking for one order number.

    `reached` collects, per failed attempt, whether it may have reached the carrier: a booking request
    that failed, unless it certainly never arrived or was refused unread (HTTP 429)."""
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(CarrierUnavailable),
        stop=stop_after_attempt(IN_PROCESS_ATTEMPTS)
        | stop_after_delay(LONGEST_IN_PROCESS_WAIT_S)
        | _long_wait_asked,
        wait=_wait,
        before_sleep=lambda state: _log_retry(shipment.order_no, carrier, state),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            sent = False
            try:
                if look_first:
                    found = await carrier.find_booking(shipment.order_no)
                    if found is not None:
                        return found
                sent = True
                return await carrier.book(shipment)
            except CarrierError as e:
                may_have = sent and not (isinstance(e, CarrierUnreachable) or getattr(e, "refused", False))
                look_first = look_first or may_have
                if reached is not None:
                    reached.append(may_have)
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _log_retry(order_no: str, carrier: CarrierGateway, state) -> None:
    error = state.outcome.exception()
    log.info(
        "order %s: carrier %s retry in %.1f s: %s (in-process attempt %d of %d)", order_no,
        getattr(carrier, "name", "carrier"), state.upcoming_sleep, error.code or type(error).__name__,
        state.attempt_number, IN_PROCESS_ATTEMPTS,
    )  # fmt: skip


async def handle_book(job: Job, deps: Deps) -> None:
    now = deps.clock.now

    async def start(uow: UnitOfWork):
        d = await load(uow, job.payload["dispatch_id"])
        if d.status not in BOOKABLE:
            return None, False  # booked, cancelled or otherwise settled by an earlier run
        suspect = d.status is not Status.RECEIVED or job.attempts > 1
        if d.status is not Status.BOOKING:
            d = await move(uow, d, Status.BOOKING, at=now(), actor=SYSTEM, cause=Cause.BOOKING)
        return d, suspect

    d, suspect = await deps.write(start)
    if d is None:
        return
    booking = await _carrier_step(job, deps, d, suspect)
    if booking is not None:
        await _booked(deps, d, booking)


async def _carrier_step(job: Job, deps: Deps, d: Dispatch, suspect: bool) -> Booking | None:
    """Book `d` (in `booking`) at the carrier. Returns the booking to record, or None when the dispatch was
    settled otherwise (booking_failed, or booked offline with a pool number); raises RetryLater / GiveUp."""
    reached: list[bool] = []
    try:
        shipment = await shipment_of(deps, d)  # its own hall sends it (to its village point, if any)
        booking = await book_once(deps.carrier, shipment, look_first=suspect, reached=reached)
        if await _waybill_taken(deps, d, booking.waybill_no):
            await _collided(deps, d, booking)
            return None
        return booking
    except UnknownHall as e:  # a client bound to a hall that was never added
        await _failed(deps, d, str(e))
        return None
    except CarrierRejected as e:
        await _failed(deps, d, f"{e.code} {e}".strip())
        return None
    except (CarrierAuthError, CarrierUnavailable) as e:
        # Only when no attempt can have reached the carrier may we book under a number of our own.
        certainly_nothing_booked = not suspect and not any(reached) and isinstance(e, CarrierUnreachable)
        if certainly_nothing_booked and deps.settings.pool_offline and await pool.book_offline(deps, d):
            return None
        if job.attempts >= job.max_attempts and not is_wait(e):  # a throttle or open circuit only waits
            await _failed(deps, d, f"承运商暂不可用: {e.code or type(e).__name__}")
            raise GiveUp(str(e)) from e
        raise carrier_retry(e, _name(deps)) from e
    except NotSupported as e:
        await _failed(deps, d, str(e))
        raise GiveUp(str(e)) from e


async def _waybill_taken(deps: Deps, d: Dispatch, waybill_no: str) -> bool:
    """Whether another dispatch holds the waybill number the carrier gave `d` (it issued one twice)."""
    async with deps.uow(read_only=True) as uow:
        holder = await uow.dispatches.find(waybill_no=waybill_no)
    return holder is not None and holder.id != d.id


async def _collided(deps: Deps, d: Dispatch, booking: Booking) -> None:
    """The carrier gave `d` a waybill number another dispatch holds: its order is cancelled at the carrier
    (or, if that fails, reported in the reason for staff to cancel by hand) and `d` ends in
    `booking_failed` with the reason, for staff to look at and book again."""
    waybill = booking.waybill_no
    try:
        await deps.carrier.cancel(d.order_no, waybill, "28")
        outcome = "该邮政订单已撤销"
    except CarrierError as e:
        outcome = f"该邮政订单未能自动撤销（{e.code or type(e).__name__}），请联系邮政撤销订单 {d.order_no}"
    log.error(
        "order %s: the carrier returned waybill %s, which another dispatch holds; booking failed (%s)",
        d.order_no, waybill, "cancelled at the carrier" if outcome == "该邮政订单已撤销" else "not cancelled",
    )  # fmt: skip
    await _failed(deps, d, f"邮政返回的运单号 {waybill} 与已有邮件重复；{outcome}")


def _name(deps: Deps) -> str:
    return getattr(deps.carrier, "name", "carrier")


async def _booked(deps: Deps, d: Dispatch, booking: Booking) -> None:
    async def record(uow: UnitOfWork):
        fresh = await load(uow, d.id)
        if fresh.status in BOOKABLE:
            cause = Cause.BOOKED
            await move(
                uow, fresh, Status.BOOKED, at=deps.clock.now(), actor=SYSTEM, cause=cause,
                waybill_no=booking.waybill_no, reason="",
            )  # fmt: skip

    await deps.write(record)


async def _failed(deps: Deps, d: Dispatch, reason: str) -> None:
    async with deps.uow() as uow:
        d = await load(uow, d.id)
        if d.status in BOOKABLE and d.status is not Status.BOOKING_FAILED:
            await move(
                uow, d, Status.BOOKING_FAILED, at=deps.clock.now(), actor=SYSTEM, cause=Cause.BOOKING_FAILED,
                reason=reason[:500],
            )  # fmt: skip


async def handle_cancel(job: Job, deps: Deps) -> None:
    """Cancel at the carrier, then here. A parcel already in the courier's hands cannot be cancelled."""
    actor = job.payload.get("actor", SYSTEM)
    async with deps.uow() as uow:
        d = await load(uow, job.payload["dispatch_id"])
    if d.status is Status.BOOKING:
        raise RetryLater("booking in progress; cancel after it settles", 5)
    if d.status not in {Status.BOOKED, Status.LABEL_PRINTED, Status.RECEIVED, Status.BOOKING_FAILED}:
        return
    if d.waybill_no:
        try:
            await deps.carrier.cancel(d.order_no, d.waybill_no, "28")
        except CarrierRejected as e:
            async with deps.uow() as uow:
                await note(
                    uow,
                    d,
                    at=deps.clock.now(),
                    actor=SYSTEM,
                    cause=Cause.CARRIER_REFUSED_TO_CANCEL,
                    code=e.code,
                )
            return
        except CarrierError as e:
            raise carrier_retry(e, _name(deps)) from e
    async with deps.uow() as uow:
        d = await load(uow, d.id)
        await move(
            uow, d, Status.CANCELLED, at=deps.clock.now(), actor=actor, cause=Cause.CANCELLED_AT_CARRIER
        )


# ---- batches: the WorkerPool hands over up to `booking_batch` claimed `book` jobs at once ----------


class BookedRecorder:
    """Records carrier bookings as they come in: the bookings that arrive while one write is in flight
    are recorded together in the next (moves to booked, audit lines, announce, job completion), in
    one unit of `deps.write`. When a unit of several fails, each booking is recorded in a unit of its own."""

    def __init__(self, deps: Deps):
        self.deps = deps
        self._write_all = lambda uow, items: self._write(uow, items)

    async def record(self, job: Job, d: Dispatch, booking: Booking, worker: str) -> None:
        await self.deps.write_together(self._write_all, (job, d, booking, worker))

    async def _write(self, uow: UnitOfWork, items: list[tuple]) -> None:
        now = self.deps.clock.now()
        cause = Cause.BOOKED
        moves = [
            (d, job, worker, d.moved(Status.BOOKED, at=now, actor=SYSTEM, cause=cause,
                                     waybill_no=booking.waybill_no, reason=""))
            for job, d, booking, worker in items
        ]  # fmt: skip
        moved = await move_many(uow, [(d, after, event) for d, _, _, (after, event) in moves], at=now)
        for d, _, _, (after, _) in moves:
            if d.id not in moved:  # moved by someone else meanwhile (not by our batch): as `_booked`
                fresh = await load(uow, d.id)
                if fresh.status in BOOKABLE:
                    await move(
                        uow, fresh, Status.BOOKED, at=now, actor=SYSTEM, cause=cause,
                        waybill_no=after.waybill_no, reason="",
                    )  # fmt: skip
        by_worker: dict[str, list[int]] = {}
        for _, job, worker, _ in moves:
            by_worker.setdefault(worker, []).append(job.id)
        for worker, job_ids in by_worker.items():
            await uow.jobs.complete_many(job_ids, worker=worker, now=now)


Settle = Callable[[Job, object], Awaitable[None]]


async def handle_book_batch(
    jobs: list[Job], worker: str, settle: Settle, deps: Deps, recorder: BookedRecorder, busy: set[str]
) -> None:
    """Book a batch of claimed jobs: one transaction moves the bookable dispatches to `booking` (and
    completes the jobs with nothing left to do); the carrier calls then run concurrently, paced by the
    guarded carrier, each exactly as `handle_book` would (lookup first when an earlier attempt may have
    reached the carrier); bookings are recorded as they complete, in grouped transactions that also
    complete their jobs. `busy` holds the dispatches this process is booking now: a second job for one
    of them waits (RetryLater) instead of racing the first to the carrier."""
    now = deps.clock.now()
    mine: dict[str, Job] = {}
    for job in jobs:
        dispatch_id = job.payload["dispatch_id"]
        if dispatch_id in busy or dispatch_id in mine:  # a wait, not a failure: it spends no attempt
            await settle(
                job, RetryLater("this dispatch is being booked by another job", 5, keep_attempt=True)
            )
        else:
            mine[dispatch_id] = job
    busy.update(mine)
    ours = set(mine)  # the dispatches this batch holds in `busy`

    async def done(job: Job, outcome) -> None:
        # The dispatch is free the moment its job settles (the job may be claimed again at once, by a
        # later batch that then holds it), not when this whole batch is over.
        dispatch_id = job.payload["dispatch_id"]
        if dispatch_id in ours:
            ours.discard(dispatch_id)
            busy.discard(dispatch_id)
        await settle(job, outcome)

    try:
        plan = await deps.write(lambda uow: _start_many(uow, mine, worker=worker, now=now))
        for job, outcome in plan.settled:
            await done(job, outcome)

        async def one(job: Job, d: Dispatch, suspect: bool) -> None:
            try:
                booking = await _carrier_step(job, deps, d, suspect)
                if booking is not None:
                    await recorder.record(job, d, booking, worker)
                    await done(job, COMPLETED)
                    return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                await done(job, e)
                return
            await done(job, None)

        await asyncio.gather(*(one(job, d, suspect) for job, d, suspect in plan.to_book))
    finally:
        busy.difference_update(ours)


class _Plan:
    def __init__(self):
        self.to_book: list[tuple[Job, Dispatch, bool]] = []
        self.settled: list[tuple[Job, object]] = []


async def _start_many(uow: UnitOfWork, by_dispatch: dict[str, Job], *, worker: str, now) -> _Plan:
    """`handle_book`'s first step for many jobs: load, move the bookable ones to `booking`."""
    plan = _Plan()
    found = {d.id: d for d in await uow.dispatches.get_many(list(by_dispatch))}
    moves, nothing_to_do = [], []
    for dispatch_id, job in by_dispatch.items():
        d = found.get(dispatch_id)
        if d is None:
            plan.settled.append((job, NotFound("no such dispatch")))
        elif d.status not in BOOKABLE:
            nothing_to_do.append(job)  # booked, cancelled or otherwise settled by an earlier run
        else:
            suspect = d.status is not Status.RECEIVED or job.attempts > 1
            if d.status is Status.BOOKING:
                plan.to_book.append((job, d, suspect))
            else:
                after, event = d.moved(Status.BOOKING, at=now, actor=SYSTEM, cause=Cause.BOOKING)
                moves.append((job, d, after, event, suspect))
    moved = await move_many(uow, [(d, after, event) for _, d, after, event, _ in moves], at=now)
    for job, d, after, _, suspect in moves:
        if d.id in moved:
            plan.to_book.append((job, after, suspect))
        else:
            plan.settled.append((job, Conflict("the dispatch changed meanwhile")))
    done = await uow.jobs.complete_many([job.id for job in nothing_to_do], worker=worker, now=now)
    plan.settled += [(job, COMPLETED if job.id in done else None) for job in nothing_to_do]
    return plan


def batch_handlers(deps: Deps) -> dict:
    if deps.carrier is None:
        return {}
    recorder, busy = BookedRecorder(deps), set()

    async def book(jobs: list[Job], worker: str, settle: Settle) -> None:
        await handle_book_batch(jobs, worker, settle, deps, recorder, busy)

    return {BOOK: book}


def job_handlers(deps: Deps) -> dict:
    if deps.carrier is None:
        return {}

    async def book(job: Job) -> None:
        await handle_book(job, deps)

    async def cancel(job: Job) -> None:
        await handle_cancel(job, deps)

    async def refill(job: Job) -> None:
        await pool.handle_refill(job, deps)

    async def sync(job: Job) -> None:
        await pool.handle_sync(job, deps)

    return {BOOK: book, CANCEL: cancel, POOL_REFILL: refill, SYNC_OFFLINE: sync}
