"""What a status change sets off, written in the same transaction as the move: tracking starts at
booking and stops at the end, the citizen gets an SMS, the approval system a callback.

One notice row per (channel, dispatch, move) with a unique key, and its job, are created together:
a move happens once (moves are compare-and-set), so no event ever gets two messages. The job carries
the move's own occurrence (when, why, where), so a message says what happened then, not what the
dispatch says when the job runs: a later scan has often moved it on by then."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import AuditEvent, Direction, Dispatch
from ..domain.status import TERMINAL, Status
from ..jobs import queue
from ..storage import dispatch_repo, tracking_repo
from ..storage.tracking_tables import notices, tracking
from .deps import Deps
from .job_contract import CALLBACK, SMS, Job
from .occurrence import Occurrence, occurrence_for

SMS_STATUSES = frozenset({Status.BOOKED, Status.OUT_FOR_DELIVERY, Status.DELIVERED, Status.DELIVERY_FAILED})
CALLBACK_STATUSES = frozenset({Status.DELIVERED, Status.DELIVERY_FAILED, Status.RETURNED, Status.PICKED_UP})
JOB_ATTEMPTS = 100  # handlers give up by their own settings; this is only a backstop


async def announce(
    conn: AsyncConnection,
    before: Dispatch,
    after: Dispatch,
    at: datetime,
    occurrence: Occurrence | None = None,
) -> None:
    """What the move `before` → `after` sets off; `occurrence` describes it (default: made at `at`,
    no reason)."""
    occurrence = occurrence or Occurrence(at)
    if after.status is Status.BOOKED and after.waybill_no:
        await tracking_repo.start(conn, after.id, after.waybill_no, now=at)
    elif after.status in TERMINAL:
        await tracking_repo.stop(conn, after.id)
    if after.status in SMS_STATUSES and after.direction is Direction.OUTBOUND:
        await _notice(conn, SMS, after, at, occurrence)
    if after.status in CALLBACK_STATUSES:
        await _notice(conn, CALLBACK, after, at, occurrence)


async def announce_many(
    conn: AsyncConnection, moves: list[tuple[Dispatch, Dispatch, AuditEvent]], at: datetime
) -> None:
    """`announce` for many moves made at `at` (each with its audit event): tracking starts, notices and
    their jobs in one multi-row statement each (the other effects, rare in a batch, one by one)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    starts, new_notices = [], []
    for _, after, event in moves:
        if after.status is Status.BOOKED and after.waybill_no:
            starts.append(dict(dispatch_id=after.id, waybill_no=after.waybill_no, active=True,
                               started_at=at, next_poll_at=None, polls=0))  # fmt: skip
        elif after.status in TERMINAL:
            await tracking_repo.stop(conn, after.id)
        occurrence = Occurrence.of_move(event, at)
        if after.status in SMS_STATUSES and after.direction is Direction.OUTBOUND:
            new_notices.append((SMS, after, occurrence))
        if after.status in CALLBACK_STATUSES:
            new_notices.append((CALLBACK, after, occurrence))
    if starts:
        start = dialect.insert(tracking).on_conflict_do_nothing(index_elements=["dispatch_id"])
        await conn.execute(start, starts)
    if not new_notices:
        return
    rows = [
        dict(id=str(uuid.uuid4()), channel=channel, kind=d.status.value, dispatch_id=d.id,
             dedupe_key=f"{channel}:{d.id}:{d.status.value}:{at.isoformat()}", event_time=o.time,
             created_at=at, outcome="")
        for channel, d, o in new_notices
    ]  # fmt: skip
    occurrences = {row["id"]: o for row, (_, _, o) in zip(rows, new_notices, strict=True)}
    added = set(
        await conn.scalars(
            dialect.insert(notices)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(notices.c.id),
            rows,
        )
    )
    new_jobs = [
        (r["channel"], {"notice_id": r["id"], **occurrences[r["id"]].payload()}, f"notice:{r['id']}")
        for r in rows
        if r["id"] in added
    ]
    await queue.enqueue_many(conn, new_jobs, now=at, max_attempts=JOB_ATTEMPTS)


async def _notice(
    conn: AsyncConnection, channel: str, d: Dispatch, at: datetime, occurrence: Occurrence
) -> None:
    notice_id = str(uuid.uuid4())
    key = f"{channel}:{d.id}:{d.status.value}:{at.isoformat()}"
    added = await tracking_repo.add_notice(
        conn, id=notice_id, channel=channel, kind=d.status.value, dispatch_id=d.id, dedupe_key=key,
        event_time=occurrence.time, created_at=at,
    )  # fmt: skip
    if added:
        await queue.enqueue(
            conn, channel, {"notice_id": notice_id, **occurrence.payload()}, now=at,
            max_attempts=JOB_ATTEMPTS, dedupe_key=f"notice:{notice_id}",
        )  # fmt: skip


def sms_params(d: Dispatch, public_url: str, occurrence: Occurrence) -> dict:
    """The template's values: the dispatch's fixed facts and its event's own reason."""
    track = f"{public_url.rstrip('/')}/track?waybill_no={d.waybill_no}" if public_url else "/track"
    return {
        "matter_name": d.matter_name,
        "waybill_no": d.waybill_no or "",
        "track_url": track,
        "reason": occurrence.reason,
    }


async def handle_sms(job: Job, deps: Deps) -> None:
    async with deps.engine.connect() as conn:
        notice = await tracking_repo.get_notice(conn, job.payload["notice_id"])
        d = await dispatch_repo.get(conn, notice.dispatch_id) if notice else None
    if notice is None or d is None or notice.sent_at is not None:
        return
    outcome = "skipped: no SMS gateway configured"
    if deps.notifier is not None:
        params = sms_params(d, deps.settings.public_url, occurrence_for(job.payload, notice, d))
        await deps.notifier.send(d.recipient.phone, notice.kind, params, key=notice.id)
        outcome = "sent"
    await deps.write(lambda uow: uow.tracking.finish_notice(notice.id, now=deps.clock.now(), outcome=outcome))


def job_handlers(deps: Deps) -> dict:
    async def sms(job: Job) -> None:
        await handle_sms(job, deps)

    return {SMS: sms}
