"""Signed callbacks to the approval system when a dispatch is delivered, fails delivery, comes back or
is picked up (at the hall or a village point).

Each callback carries the notice id as `event_id`, so the receiver can drop a repeat, and its own event's
time, reason and place (stored with the job when the move was made, not read from the dispatch when the
job runs); it is sent by a durable job with backoff and dead-lettered for staff after
`callback_max_attempts`."""

from __future__ import annotations

import json
import logging
import random
from typing import NoReturn, Protocol

from ..domain.china_time import CHINA
from ..domain.signing import sign_headers
from ..storage import dispatch_repo, tracking_repo
from .deps import Deps
from .job_contract import CALLBACK, GiveUp, Job, RetryLater
from .occurrence import Occurrence, occurrence_for

log = logging.getLogger("certpost.callbacks")


class CallbackSender(Protocol):
    """POSTs a body to the approval system; returns the HTTP status, raises OSError when unreachable."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


def callback_body(notice, d, occurrence: Occurrence) -> dict:
    return {
        "event_id": notice.id,
        "dispatch_id": d.id,
        "case_no": d.case_no,
        "status": notice.kind,
        "waybill_no": d.waybill_no,
        "time": occurrence.time.astimezone(CHINA).isoformat(),
        "reason": occurrence.reason,
        "location": occurrence.location,
    }


def retry_delay_s(attempts: int, base_s: float, cap_s: float = 3600.0) -> float:
    ceiling = min(cap_s, base_s * 2 ** max(0, attempts - 1))
    return ceiling / 2 + random.random() * ceiling / 2


async def handle_callback(job: Job, deps: Deps) -> None:
    s = deps.settings
    async with deps.engine.connect() as conn:
        notice = await tracking_repo.get_notice(conn, job.payload["notice_id"])
        d = await dispatch_repo.get(conn, notice.dispatch_id) if notice else None
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
    async with deps.engine.begin() as conn:
        await tracking_repo.finish_notice(conn, notice_id, now=deps.clock.now(), outcome=outcome)


def job_handlers(deps: Deps) -> dict:
    async def callback(job: Job) -> None:
        await handle_callback(job, deps)

    return {CALLBACK: callback}
