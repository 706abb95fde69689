"""The pickup code reaches the citizen by itself: sent when a dispatch reaches awaiting_pickup (a job
written with the move: `notifications.announce`), retried with backoff while the SMS provider is away,
and put on a paper slip (取件通知单) for staff to print when there is no SMS gateway or the provider
refuses the message; never dropped. A slip's code is made when the slip is printed, only its hash kept."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from ..domain.cause import Cause
from ..domain.errors import Conflict
from ..domain.masking import mask_name
from ..domain.model import Dispatch
from ..domain.sms_outcome import Fate
from ..domain.status import Status
from ..ports import SmsError, SmsMisconfigured, SmsRejected, SmsUnavailable
from .deps import Deps
from .dispatches import load, note
from .job_contract import PICKUP_CODE, GiveUp, Job, RetryLater, backoff_s
from .pickup import SYSTEM, collection_place, hash_secret, issue, new_code, sent_since

log = logging.getLogger("certpost.pickup")

NO_SMS = "未配置短信服务"
UNCONFIRMED = "短信可能已发出，但无法向短信服务商核实"
RETRY_CAP_S = 3600.0


async def handle_pickup_code(job: Job, deps: Deps) -> None:
    moved_at = datetime.fromisoformat(job.payload["at"])
    async with deps.uow(read_only=True) as uow:
        d = await uow.dispatches.get(job.payload["dispatch_id"])
        code = await uow.console.pickup_code(d.id) if d else None
        slip = (await uow.console.pickup_slips_for([d.id])).get(d.id) if d else None
        events = await uow.dispatches.events(d.id) if d else []
    if d is None or d.status is not Status.AWAITING_PICKUP:
        return  # picked up or cancelled meanwhile
    if _done_since(events, moved_at) or _staff_took_over(code, slip, moved_at):
        return
    if deps.notifier is None:
        return await queue_slip(deps, d, NO_SMS)
    try:
        fate = await sent_since(deps, d, moved_at, actor=SYSTEM)  # an earlier try's code: nothing twice
        if fate is Fate.UNKNOWN:
            return await queue_slip(deps, d, UNCONFIRMED)
        if fate is Fate.NOT_SENT:
            await issue(deps, d.id, actor=SYSTEM)
    except SmsRejected as e:
        await queue_slip(deps, d, f"短信未能发送（{e.code or '被拒绝'}）")
    except SmsMisconfigured as e:
        await queue_slip(deps, d, f"短信服务配置错误（{e.code}）")
        raise GiveUp(f"SMS configuration: {e.code}", code=f"sms_{e.code}") from None
    except SmsUnavailable as e:
        await _retry_or_slip(job, deps, d, e)


_SETTLED = {Cause.PICKUP_CODE_SENT, Cause.PICKUP_SLIP_QUEUED, Cause.PICKUP_SLIP_PRINTED}


def _done_since(events, moved_at: datetime) -> bool:
    """A code went out (or to the slip queue) since the move: a job run again after a crash that came
    between its send and its completion sends nothing twice."""
    return any(e.at >= moved_at and e.cause in _SETTLED for e in events)


def _staff_took_over(code, slip, moved_at: datetime) -> bool:
    """Since the move, staff sent a code themselves or printed a slip: nothing left to do."""
    if code is not None and code.created_at >= moved_at and code.created_by != SYSTEM:
        return True
    return slip is not None and slip.printed_at is not None and slip.printed_at >= moved_at


async def _retry_or_slip(job: Job, deps: Deps, d: Dispatch, e: SmsError) -> NoReturn:
    s = deps.settings
    log.warning(
        "pickup code SMS for dispatch %s failed: %s (attempt %d of %d)", d.id, e.code or type(e).__name__,
        job.attempts, s.sms_max_attempts,
    )  # fmt: skip
    if job.attempts >= min(s.sms_max_attempts, job.max_attempts):
        await queue_slip(deps, d, f"短信多次发送失败（{e.code or '不可用'}）")
        raise GiveUp(f"SMS unavailable: {e.code}", code="sms_unavailable")
    delay = max(e.retry_after or 0.0, backoff_s(job.attempts, base=s.sms_retry_base_s, cap=RETRY_CAP_S))
    raise RetryLater(f"SMS unavailable: {e.code}", delay, code=f"sms_{e.code or 'unavailable'}")


async def queue_slip(deps: Deps, d: Dispatch, reason: str) -> None:
    """The code goes on paper: the dispatch waits on the counter page as 取件码待打印."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        await uow.console.queue_pickup_slip(d.id, reason=reason, now=now)
        await note(uow, d, at=now, actor=SYSTEM, cause=Cause.PICKUP_SLIP_QUEUED, reason=reason)


async def resend(deps: Deps, dispatch_id: str, *, actor: str):
    """Staff send a new code by SMS (the old one stops working); when the provider refuses, the dispatch
    goes to the slip queue. Conflict (with the reason in Chinese) when nothing was sent."""
    try:
        return await issue(deps, dispatch_id, actor=actor)
    except SmsRejected as e:
        async with deps.uow(read_only=True) as uow:
            d = await load(uow, dispatch_id)
        await queue_slip(deps, d, f"短信未能发送（{e.code or '被拒绝'}）")
        raise Conflict(f"短信未能发送（{e.code}），已转为打印取件通知单") from None
    except SmsMisconfigured as e:
        raise Conflict(f"短信服务配置错误（{e.code}），请联系管理员或打印取件通知单") from None
    except SmsUnavailable as e:
        raise Conflict(f"短信服务暂时不可用（{e.code or '超时'}），请稍后重试或打印取件通知单") from None


@dataclass(frozen=True)
class Slip:
    """What a pickup slip (取件通知单) prints: the code in clear exists only here, once."""

    dispatch_id: str
    case_no: str
    matter_name: str
    masked_name: str
    place: str
    code: str
    expires_at: datetime
    track_url: str
    hall_name: str
    printed_at: datetime


async def print_slip(deps: Deps, dispatch_id: str, *, actor: str) -> Slip:
    """A new code for a slip (the old one stops working); its hash is stored, the printing audited."""
    now = deps.clock.now()
    code = new_code()
    hashed = await asyncio.to_thread(hash_secret, code)
    expires_at = now + timedelta(hours=deps.settings.pickup_code_hours)
    async with deps.uow() as uow:
        d = await load(uow, dispatch_id)
        if d.status is not Status.AWAITING_PICKUP:
            raise Conflict(f"状态为 {d.status.value} 的证照不在待取件状态，不能打印取件通知单")
        await uow.console.put_pickup_code(d.id, code_hash=hashed, now=now, expires_at=expires_at, by=actor)
        await uow.console.slip_printed(d.id, now=now, by=actor)
        await note(
            uow, d, at=now, actor=actor, cause=Cause.PICKUP_SLIP_PRINTED, expires_at=expires_at.isoformat()
        )
    place = await collection_place(deps, d)
    base = (deps.settings.public_url or "").rstrip("/")
    from .halls import origin_of

    hall = await origin_of(deps, d.hall)
    return Slip(
        d.id, d.case_no, d.matter_name, mask_name(d.recipient.name), place, code, expires_at,
        f"{base}/track?case_no={d.case_no}", hall.name, now,
    )  # fmt: skip


def job_handlers(deps: Deps) -> dict:
    async def pickup_code(job: Job) -> None:
        await handle_pickup_code(job, deps)

    return {PICKUP_CODE: pickup_code}
