"""What a status change sets off, written in the same transaction as the move: tracking starts at
booking and stops at the end, the citizen gets an SMS, the approval system a callback.

One notice row per (channel, dispatch, move) with a unique key, and its job, are created together:
a move happens once (moves are compare-and-set), so no event ever gets two messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import Direction, Dispatch
from ..domain.status import TERMINAL, Status
from ..jobs import queue
from ..jobs.queue import Job
from ..storage import dispatch_repo, tracking_repo
from .callbacks import CALLBACK
from .deps import Deps

SMS = "sms"
SMS_STATUSES = frozenset({Status.BOOKED, Status.OUT_FOR_DELIVERY, Status.DELIVERED, Status.DELIVERY_FAILED})
CALLBACK_STATUSES = frozenset({Status.DELIVERED, Status.DELIVERY_FAILED, Status.RETURNED})
JOB_ATTEMPTS = 100  # handlers give up by their own settings; this is only a backstop


async def announce(conn: AsyncConnection, before: Dispatch, after: Dispatch, at: datetime) -> None:
    if after.status is Status.BOOKED and after.waybill_no:
        await tracking_repo.start(conn, after.id, after.waybill_no, now=at)
    elif after.status in TERMINAL:
        await tracking_repo.stop(conn, after.id)
    if after.status in SMS_STATUSES and after.direction is Direction.OUTBOUND:
        await _notice(conn, SMS, after, at)
    if after.status in CALLBACK_STATUSES:
        await _notice(conn, CALLBACK, after, at)


async def _notice(conn: AsyncConnection, channel: str, d: Dispatch, at: datetime) -> None:
    notice_id = str(uuid.uuid4())
    key = f"{channel}:{d.id}:{d.status.value}:{at.isoformat()}"
    added = await tracking_repo.add_notice(
        conn, id=notice_id, channel=channel, kind=d.status.value, dispatch_id=d.id, dedupe_key=key,
        event_time=at, created_at=at,
    )  # fmt: skip
    if added:
        await queue.enqueue(
            conn, channel, {"notice_id": notice_id}, now=at, max_attempts=JOB_ATTEMPTS,
            dedupe_key=f"notice:{notice_id}",
        )  # fmt: skip


def sms_params(d: Dispatch, public_url: str) -> dict:
    track = f"{public_url.rstrip('/')}/track?waybill_no={d.waybill_no}" if public_url else "/track"
    return {
        "matter_name": d.matter_name,
        "waybill_no": d.waybill_no or "",
        "track_url": track,
        "reason": d.reason,
    }


async def handle_sms(job: Job, deps: Deps) -> None:
    async with deps.engine.connect() as conn:
        notice = await tracking_repo.get_notice(conn, job.payload["notice_id"])
        d = await dispatch_repo.get(conn, notice.dispatch_id) if notice else None
    if notice is None or d is None or notice.sent_at is not None:
        return
    outcome = "skipped: no SMS gateway configured"
    if deps.notifier is not None:
        params = sms_params(d, deps.settings.public_url)
        await deps.notifier.send(d.recipient.phone, notice.kind, params, key=notice.id)
        outcome = "sent"
    async with deps.engine.begin() as conn:
        await tracking_repo.finish_notice(conn, notice.id, now=deps.clock.now(), outcome=outcome)


def job_handlers(deps: Deps) -> dict:
    async def sms(job: Job) -> None:
        await handle_sms(job, deps)

    return {SMS: sms}
