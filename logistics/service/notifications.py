"""What a status change sets off, written in the same transaction as the move: tracking starts at
booking and stops at the end, the citizen gets an SMS, the approval system a callback.

One notice row per (channel, dispatch, move) with a unique key, and its job, are created together:
a move happens once (moves are compare-and-set), so no event ever gets two messages. The job carries
the move's own occurrence (when, why, where), so a message says what happened then, not what the
dispatch says when the job runs: a later scan has often moved it on by then."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import NoReturn

from ..domain import sms_outcome
from ..domain.model import AuditEvent, Direction, Dispatch
from ..domain.sms_text import clip
from ..domain.status import TERMINAL, Status
from ..ports import SmsMisconfigured, SmsRejected, SmsTemplateMissing, SmsUnavailable, UnitOfWork
from ..ports.repositories.tracking import Notice
from .deps import Deps
from .job_contract import CALLBACK, PICKUP_CODE, SMS, GiveUp, Job, RetryLater, backoff_s
from .occurrence import Occurrence, occurrence_for

log = logging.getLogger("certpost.sms")

SMS_STATUSES = frozenset({Status.BOOKED, Status.OUT_FOR_DELIVERY, Status.DELIVERED, Status.DELIVERY_FAILED})
CALLBACK_STATUSES = frozenset({Status.DELIVERED, Status.DELIVERY_FAILED, Status.RETURNED, Status.PICKED_UP})
JOB_ATTEMPTS = 100  # handlers give up by their own settings; this is only a backstop


async def announce(
    uow: UnitOfWork,
    before: Dispatch,
    after: Dispatch,
    at: datetime,
    occurrence: Occurrence | None = None,
) -> None:
    """What the move `before` → `after` sets off, in the open unit of work; `occurrence` describes it
    (default: made at `at`, no reason)."""
    occurrence = occurrence or Occurrence(at)
    if after.status is Status.BOOKED and after.waybill_no:
        await uow.tracking.start(after.id, after.waybill_no, now=at)
    elif after.status in TERMINAL:
        await uow.tracking.stop(after.id)
    if after.status in SMS_STATUSES and after.direction is Direction.OUTBOUND:
        await _notice(uow, SMS, after, at, occurrence)
    if after.status in CALLBACK_STATUSES:
        await _notice(uow, CALLBACK, after, at, occurrence)
    if after.status is Status.AWAITING_PICKUP and before.status is not Status.AWAITING_PICKUP:
        await queue_pickup_code(uow, after, at)


async def queue_pickup_code(uow: UnitOfWork, d: Dispatch, at: datetime) -> None:
    """Send the dispatch's pickup code (again) from `at` on: `pickup_code_job`, written in `uow`."""
    kind, payload, dedupe_key = pickup_code_job(d, at)
    await uow.jobs.enqueue(kind, payload, now=at, max_attempts=JOB_ATTEMPTS, dedupe_key=dedupe_key)


def pickup_code_job(d: Dispatch, at: datetime) -> tuple[str, dict, str]:
    """The job that sends the pickup code for the move to awaiting_pickup made at `at` (once per move:
    its dedupe key names the move); `pickup_delivery.handle_pickup_code` runs it."""
    return PICKUP_CODE, {"dispatch_id": d.id, "at": at.isoformat()}, f"{PICKUP_CODE}:{d.id}:{at.isoformat()}"


async def announce_many(
    uow: UnitOfWork, moves: list[tuple[Dispatch, Dispatch, AuditEvent]], at: datetime
) -> None:
    """`announce` for many moves made at `at` (each with its audit event): tracking starts, notices and
    their jobs in one multi-row statement each (the other effects, rare in a batch, one by one)."""
    starts, new_notices, code_jobs = [], [], []
    for before, after, event in moves:
        if after.status is Status.BOOKED and after.waybill_no:
            starts.append((after.id, after.waybill_no))
        elif after.status in TERMINAL:
            await uow.tracking.stop(after.id)
        occurrence = Occurrence.of_move(event, at)
        if after.status in SMS_STATUSES and after.direction is Direction.OUTBOUND:
            new_notices.append((_new_notice(SMS, after, at, occurrence), occurrence))
        if after.status in CALLBACK_STATUSES:
            new_notices.append((_new_notice(CALLBACK, after, at, occurrence), occurrence))
        if after.status is Status.AWAITING_PICKUP and before.status is not Status.AWAITING_PICKUP:
            code_jobs.append(pickup_code_job(after, at))
    await uow.tracking.start_many(starts, now=at)
    added = await uow.tracking.add_notices([notice for notice, _ in new_notices]) if new_notices else set()
    new_jobs = [_job(notice, occurrence) for notice, occurrence in new_notices if notice.id in added]
    if new_jobs or code_jobs:
        await uow.jobs.enqueue_many(new_jobs + code_jobs, now=at, max_attempts=JOB_ATTEMPTS)


def _new_notice(channel: str, d: Dispatch, at: datetime, occurrence: Occurrence) -> Notice:
    """One notice per (channel, dispatch, move): its key names the move by its status and time."""
    key = f"{channel}:{d.id}:{d.status.value}:{at.isoformat()}"
    return Notice(
        id=str(uuid.uuid4()), channel=channel, kind=d.status.value, dispatch_id=d.id, dedupe_key=key,
        event_time=occurrence.time, created_at=at,
    )  # fmt: skip


def _job(notice: Notice, occurrence: Occurrence) -> tuple[str, dict, str]:
    """The notice's job (kind, payload, dedupe key), carrying the move's occurrence."""
    return notice.channel, {"notice_id": notice.id, **occurrence.payload()}, f"notice:{notice.id}"


async def _notice(uow: UnitOfWork, channel: str, d: Dispatch, at: datetime, occurrence: Occurrence) -> None:
    notice = _new_notice(channel, d, at, occurrence)
    if await uow.tracking.add_notice(notice):
        kind, payload, dedupe_key = _job(notice, occurrence)
        await uow.jobs.enqueue(kind, payload, now=at, max_attempts=JOB_ATTEMPTS, dedupe_key=dedupe_key)


def sms_params(d: Dispatch, public_url: str, occurrence: Occurrence) -> dict:
    """The template's values (domain.sms_text): the dispatch's fixed facts and its event's own reason;
    nothing of the citizen's own (name, phone, address)."""
    track = f"{public_url.rstrip('/')}/track?waybill_no={d.waybill_no}" if public_url else "/track"
    return {
        "matter_name": clip(d.matter_name),
        "waybill_no": d.waybill_no or "",
        "track_url": track,
        "reason": clip(occurrence.reason),
    }


async def handle_sms(job: Job, deps: Deps) -> None:
    async with deps.uow(read_only=True) as uow:
        notice = await uow.tracking.get_notice(job.payload["notice_id"])
        d = await uow.dispatches.get(notice.dispatch_id) if notice else None
    if notice is None or d is None or notice.sent_at is not None:
        return
    outcome = "skipped: no SMS gateway configured"
    if deps.notifier is not None:
        params = sms_params(d, deps.settings.public_url, occurrence_for(job.payload, notice, d))
        try:
            if job.attempts > 1 and await _went_already(deps, d, notice):
                return await _finish(deps, notice.id, sms_outcome.CONFIRMED)
            biz_id = await deps.notifier.send(d.recipient.phone, notice.kind, params, key=notice.id)
            outcome = sms_outcome.sent(biz_id)
        except SmsTemplateMissing:
            outcome = "skipped: no template configured"
        except SmsRejected as e:
            outcome = f"rejected: {e.code}"
        except SmsMisconfigured as e:
            await _finish(deps, notice.id, sms_outcome.failed(e.code))
            raise GiveUp(f"SMS configuration: {e.code}", code=f"sms_{e.code}") from None
        except SmsUnavailable as e:
            _retry_or_give_up(job, deps, e)
    await _finish(deps, notice.id, outcome)


async def _went_already(deps: Deps, d: Dispatch, notice: Notice) -> bool:
    """On a retry: whether an earlier try's message reached the provider though its answer was lost (a
    provider may not deduplicate by our key). SmsError when the provider can't be asked: retried."""
    lookup = getattr(deps.notifier, "was_sent", None)
    return lookup is not None and await lookup(d.recipient.phone, notice.id, notice.created_at)


def _retry_or_give_up(job: Job, deps: Deps, e: SmsUnavailable) -> NoReturn:
    """Like callbacks: backoff from `sms_retry_base_s`, dead-lettered after `sms_max_attempts`."""
    s = deps.settings
    log.warning(
        "SMS notice %s failed: %s (attempt %d of %d)", job.payload.get("notice_id"), e.code or "unavailable",
        job.attempts, s.sms_max_attempts,
    )  # fmt: skip
    if job.attempts >= s.sms_max_attempts:
        raise GiveUp(f"SMS unavailable: {e.code}", code="sms_unavailable")
    delay = max(e.retry_after or 0.0, backoff_s(job.attempts, base=s.sms_retry_base_s, cap=3600.0))
    raise RetryLater(f"SMS unavailable: {e.code}", delay, code=f"sms_{e.code or 'unavailable'}")


async def _finish(deps: Deps, notice_id: str, outcome: str) -> None:
    await deps.write(lambda uow: uow.tracking.finish_notice(notice_id, now=deps.clock.now(), outcome=outcome))


def job_handlers(deps: Deps) -> dict:
    async def sms(job: Job) -> None:
        await handle_sms(job, deps)

    return {SMS: sms}
