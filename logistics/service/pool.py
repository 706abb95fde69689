"""The waybill number pool: the hall keeps booking and printing while the carrier is unreachable.

Numbers are pre-allocated from the carrier in batches and refilled below a watermark. A dispatch
booked offline gets a pool number, so its label can be printed; a job books it at the carrier under
that number, and reports the print data, once the carrier is back."""

from __future__ import annotations

import logging

from ..domain.cause import Cause
from ..domain.model import Dispatch
from ..domain.status import Status
from ..ports import CarrierError, CarrierRejected, NotSupported
from ..ports.repositories.pool import FREE
from .deps import Deps
from .dispatches import load, move, note
from .job_contract import POOL_REFILL, SYNC_OFFLINE, GiveUp, Job
from .resilience import carrier_retry
from .shipments import shipment_of

log = logging.getLogger("certpost.pool")
SYSTEM = "system:pool"


async def request_refill(deps: Deps) -> None:
    async with deps.uow() as uow:
        await uow.jobs.enqueue(POOL_REFILL, {}, now=deps.clock.now(), dedupe_key=POOL_REFILL)


async def handle_refill(job: Job, deps: Deps) -> None:
    async with deps.uow(read_only=True) as uow:
        free = (await uow.pool.counts())[FREE]
    if free >= deps.settings.pool_low_watermark:
        return
    try:
        numbers = await deps.carrier.allocate_numbers(min(100, deps.settings.pool_batch))
    except NotSupported:
        log.info("carrier %s does not allocate waybill numbers: no pool", getattr(deps.carrier, "name", "?"))
        return
    except CarrierError as e:
        raise carrier_retry(e, getattr(deps.carrier, "name", "carrier")) from e
    async with deps.uow() as uow:
        await uow.pool.add(numbers, now=deps.clock.now())


async def book_offline(deps: Deps, d: Dispatch) -> bool:
    """Book with a pool number while the carrier is unreachable; False when the pool is empty."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        d = await load(uow, d.id)
        if d.status is not Status.BOOKING:
            return True  # settled meanwhile
        number = await uow.pool.take(d.id, now=now)
        if number is None:
            return False
        cause = Cause.BOOKED_OFFLINE
        await move(uow, d, Status.BOOKED, at=now, actor=SYSTEM, cause=cause, waybill_no=number, reason="")
        await uow.jobs.enqueue(SYNC_OFFLINE, {"dispatch_id": d.id}, now=now, dedupe_key=f"sync:{d.id}")
        await uow.jobs.enqueue(POOL_REFILL, {}, now=now, dedupe_key=POOL_REFILL)
    return True


async def handle_sync(job: Job, deps: Deps) -> None:
    """Book an offline dispatch at the carrier under its pool number, then report its print data."""
    async with deps.uow(read_only=True) as uow:
        d = await load(uow, job.payload["dispatch_id"])
    shipment = await shipment_of(deps, d)
    try:
        booking = await deps.carrier.find_booking(d.order_no) or await deps.carrier.book(shipment)
        try:
            await deps.carrier.report_print_data(shipment)
        except NotSupported:
            pass
    except CarrierRejected as e:
        async with deps.uow() as uow:
            cause = Cause.OFFLINE_BOOKING_REFUSED
            await note(uow, d, at=deps.clock.now(), actor=SYSTEM, cause=cause, code=e.code, message=str(e))
        raise GiveUp(f"carrier refused the offline booking: {e}") from e
    except CarrierError as e:  # waiting for an open circuit or a throttle spends no attempt
        raise carrier_retry(e, getattr(deps.carrier, "name", "carrier")) from e
    detail = {} if booking.waybill_no == d.waybill_no else {"carrier_waybill_no": booking.waybill_no}
    cause = Cause.OFFLINE_BOOKING_REPORTED if not detail else Cause.CARRIER_BOOKED_ANOTHER_NUMBER
    async with deps.uow() as uow:
        await note(uow, d, at=deps.clock.now(), actor=SYSTEM, cause=cause, **detail)
