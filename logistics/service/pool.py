"""The waybill number pool: the hall keeps booking and printing while the carrier is unreachable.

Numbers are pre-allocated from the carrier in batches and refilled below a watermark. A dispatch
booked offline gets a pool number, so its label can be printed; a job books it at the carrier under
that number, and reports the print data, once the carrier is back."""

from __future__ import annotations

import logging

from ..domain.cause import Cause
from ..domain.model import Dispatch
from ..domain.status import Status
from ..jobs import queue
from ..ports import CarrierError, CarrierRejected, NotSupported
from ..storage import pool_repo
from .deps import Deps
from .dispatches import load, move, note
from .job_contract import POOL_REFILL, SYNC_OFFLINE, GiveUp, Job
from .resilience import carrier_retry

log = logging.getLogger("certpost.pool")
SYSTEM = "system:pool"


async def request_refill(deps: Deps) -> None:
    async with deps.engine.begin() as conn:
        await queue.enqueue(conn, POOL_REFILL, {}, now=deps.clock.now(), dedupe_key=POOL_REFILL)


async def handle_refill(job: Job, deps: Deps) -> None:
    async with deps.engine.connect() as conn:
        free = (await pool_repo.counts(conn))[pool_repo.FREE]
    if free >= deps.settings.pool_low_watermark:
        return
    try:
        numbers = await deps.carrier.allocate_numbers(min(100, deps.settings.pool_batch))
    except NotSupported:
        log.info("carrier %s does not allocate waybill numbers: no pool", getattr(deps.carrier, "name", "?"))
        return
    except CarrierError as e:
        raise carrier_retry(e, getattr(deps.carrier, "name", "carrier")) from e
    async with deps.engine.begin() as conn:
        await pool_repo.add(conn, numbers, now=deps.clock.now())


async def book_offline(deps: Deps, d: Dispatch) -> bool:
    """Book with a pool number while the carrier is unreachable; False when the pool is empty."""
    now = deps.clock.now()
    async with deps.engine.begin() as conn:
        d = await load(conn, d.id)
        if d.status is not Status.BOOKING:
            return True  # settled meanwhile
        number = await pool_repo.take(conn, d.id, now=now)
        if number is None:
            return False
        cause = Cause.BOOKED_OFFLINE
        await move(conn, d, Status.BOOKED, at=now, actor=SYSTEM, cause=cause, waybill_no=number, reason="")
        await queue.enqueue(conn, SYNC_OFFLINE, {"dispatch_id": d.id}, now=now, dedupe_key=f"sync:{d.id}")
        await queue.enqueue(conn, POOL_REFILL, {}, now=now, dedupe_key=POOL_REFILL)
    return True


async def handle_sync(job: Job, deps: Deps) -> None:
    """Book an offline dispatch at the carrier under its pool number, then report its print data."""
    from .booking import shipment_for  # booking imports this module

    async with deps.engine.connect() as conn:
        d = await load(conn, job.payload["dispatch_id"])
    shipment = shipment_for(d, deps.settings.origin)
    try:
        booking = await deps.carrier.find_booking(d.order_no) or await deps.carrier.book(shipment)
        try:
            await deps.carrier.report_print_data(shipment)
        except NotSupported:
            pass
    except CarrierRejected as e:
        async with deps.engine.begin() as conn:
            cause = Cause.OFFLINE_BOOKING_REFUSED
            await note(conn, d, at=deps.clock.now(), actor=SYSTEM, cause=cause, code=e.code, message=str(e))
        raise GiveUp(f"carrier refused the offline booking: {e}") from e
    except CarrierError as e:  # waiting for an open circuit or a throttle spends no attempt
        raise carrier_retry(e, getattr(deps.carrier, "name", "carrier")) from e
    detail = {} if booking.waybill_no == d.waybill_no else {"carrier_waybill_no": booking.waybill_no}
    cause = Cause.OFFLINE_BOOKING_REPORTED if not detail else Cause.CARRIER_BOOKED_ANOTHER_NUMBER
    async with deps.engine.begin() as conn:
        await note(conn, d, at=deps.clock.now(), actor=SYSTEM, cause=cause, **detail)
