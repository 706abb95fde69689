"""Signed callbacks to the approval system when a dispatch is delivered, fails delivery, comes back or
is picked up (at the hall or a village point).

Each callback carries the notice id as `event_id`, so the receiver can drop a repeat, and its own event's
time, reason and place (stored with the job when the move was made, not read from the dispatch when the
job runs); it is sent by a durable job with backoff and dead-lettered for staff after
`callback_max_attempts`."""

from __future__ import annotations

import json
import logging
from typing import NoReturn

from ..domain.china_time import CHINA
from ..domain.model import Dispatch
from ..domain.signing import sign_headers
from ..ports.repositories.tracking import Notice
from .deps import Deps
from .job_contract import CALLBACK, GiveUp, Job, RetryLater, backoff_s
from .occurrence import Occurrence, occurrence_for

log = logging.getLogger("certpost.callbacks")


RETRY_CAP_S = 3600.0


def callback_body(notice: Notice, d: Dispatch, occurrence: Occurrence) -> dict:
    return {
        "event_id": notice.id,
        "dispatch_id": d.id,
        "case_no": d.case_no,
        "direction": d.direction.value,
        "status": notice.kind,
        "waybill_no": d.waybill_no,
        "time": occurrence.time.astimezone(CHINA).isoformat(),
        "reason": occurrence.reason,
        "location": occurrence.location,
    }


def retry_delay_s(attempts: int, base_s: float) -> float:
    """The jobs' backoff from the settings' base, capped at an hour: the approval system may be down long."""
    return backoff_s(attempts, base=base_s, cap=RETRY_CAP_S)


async def handle_callback(job: Job, deps: Deps) -> None:
    s = deps.settings
    async with deps.uow(read_only=True) as uow:
        notice = await uow.tracking.get_notice(job.payload["notice_id"])
        d = await uow.dispatches.get(notice.dispatch_id) if notice else None
    if notice is None or d is None or notice.sent_at is not None:
        return
    if not s.callback_url or deps.callback_sender is None:
        return await _finish(deps, notice.id, "skipped: no callback_url configured")
    secret = s.clients.get(d.client_id)
    if not secret:
        raise GiveUp(f"no shared secret for client {d.client_id}")
    occurrence = occurrence_for(job.payload, notice, d)
    body = json.dumps(callback_body(notice, d, occurrence), ensure_ascii=False).encode()
    headers = {
        **sign_headers(d.client_id, secret, body, int(deps.clock.now().timestamp())),
        "Content-Type": "application/json",
    }
    try:
        status = await deps.callback_sender.post(s.callback_url, body, headers)
    except OSError as e:
        _retry_or_give_up(job, deps, notice.id, f"approval system unreachable: {e}", "unreachable")
    if not 200 <= status < 300:
        _retry_or_give_up(job, deps, notice.id, f"approval system answered HTTP {status}", f"http_{status}")
    await _finish(deps, notice.id, f"delivered: HTTP {status}")


def _retry_or_give_up(job: Job, deps: Deps, notice_id: str, error: str, code: str) -> NoReturn:
    log.warning(
        "callback %s (job %s) failed: %s (attempt %d of %d)", notice_id, job.id, code, job.attempts,
        deps.settings.callback_max_attempts,
    )  # fmt: skip
    if job.attempts >= deps.settings.callback_max_attempts:
        raise GiveUp(error, code=f"callback_{code}")
    delay = retry_delay_s(job.attempts, deps.settings.callback_retry_base_s)
    raise RetryLater(error, delay, code=f"callback_{code}")


async def _finish(deps: Deps, notice_id: str, outcome: str) -> None:
    async with deps.uow() as uow:
        await uow.tracking.finish_notice(notice_id, now=deps.clock.now(), outcome=outcome)


def job_handlers(deps: Deps) -> dict:
    async def callback(job: Job) -> None:
        await handle_callback(job, deps)

    return {CALLBACK: callback}
