"""Self-pickup at the counter (窗口自取): a one-time code by SMS, checked at the counter.

The code is six random digits, stored only as an argon2 hash, valid for `pickup_code_hours`, and dies
after `pickup_code_attempts` wrong tries. Sending, every wrong try and the pickup are in the audit trail
(never the code). The SMS goes through the Notifier port under its own notice (the provider's OutId), so
a delivery receipt finds its dispatch. Sent automatically on every move to awaiting_pickup and on paper
when there is no SMS: `pickup_delivery`."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain import sms_outcome
from ..domain.cause import Cause
from ..domain.errors import Conflict, InvalidInput
from ..domain.model import Dispatch
from ..domain.sms_outcome import Fate
from ..domain.sms_text import clip
from ..domain.status import Status
from ..ports import SmsError, UnitOfWork, UnitOfWorkFactory
from ..ports.repositories.tracking import Notice
from . import village_points
from .console_text import cn_time
from .deps import Deps
from .dispatches import load, move, note
from .halls import origin_of
from .job_contract import SMS
from .users import hash_secret, verify_secret

TEMPLATE = "pickup_code"

TO_PRINT = "取件码待打印"
"""The counter's state of a dispatch whose code is waiting to be printed on a slip."""
SYSTEM = "system"
"""The actor of codes sent automatically when a dispatch reaches awaiting_pickup."""
SENDING, SEND_FAILED = "取件码发送中", "取件码发送失败"
"""The counter's states of a code whose SMS may still go out, and of one whose SMS did not."""


@dataclass(frozen=True)
class Issued:
    dispatch_id: str
    expires_at: datetime
    phone: str


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


async def collection_place(deps: Deps, d: Dispatch) -> str:
    """Where the citizen collects it: the village point (its name, when the hall's registry knows it)
    for a point parcel, else the dispatch's hall."""
    if d.village_point_code:
        async with deps.for_hall(d.hall).uow(read_only=True) as uow:  # the point is of the parcel's hall
            point = await village_points.pickup_place(uow, d)
        return point.name if point is not None else f"村级代办点{d.village_point_code}"
    return (await origin_of(deps, d.hall)).name


async def pickup_params(deps: Deps, d: Dispatch, code: str, expires_at: datetime) -> dict:
    """The pickup_code template's values (domain.sms_text): no name, phone or address of the citizen."""
    return {
        "matter_name": clip(d.matter_name),
        "place": clip(await collection_place(deps, d)),
        "code": code,
        "expires_at": cn_time(expires_at),
    }


async def issue(deps: Deps, dispatch_id: str, *, actor: str, code: str | None = None) -> Issued:
    """Send a fresh code to the applicant by SMS; an earlier code stops working. The code's hash and the
    SMS notice are stored first, in one transaction and with one time (`notice_of` pairs them by it), so a
    failed send (SmsError, raised) leaves no working code unknown to anyone; the audit line is written once
    the provider accepted the message. Each message has a notice of its own (the provider's OutId)."""
    if deps.notifier is None:
        raise Conflict("未配置短信服务，无法发送取件码，请打印取件通知单")
    now, settings = deps.clock.now(), deps.settings
    code = code or new_code()
    hashed = await asyncio.to_thread(hash_secret, code)
    expires_at = now + timedelta(hours=settings.pickup_code_hours)
    notice_id = str(uuid.uuid4())
    async with deps.uow() as uow:
        d = await load(uow, dispatch_id)
        if d.status is not Status.AWAITING_PICKUP:
            raise Conflict(f"状态为 {d.status.value} 的证照不在窗口待取，不能发送取件码")
        await uow.console.put_pickup_code(d.id, code_hash=hashed, now=now, expires_at=expires_at, by=actor)
        notice = Notice(
            id=notice_id, channel=SMS, kind=TEMPLATE, dispatch_id=d.id,
            dedupe_key=f"{SMS}:{TEMPLATE}:{d.id}:{notice_id}", event_time=now, created_at=now,
        )  # fmt: skip
        await uow.tracking.add_notice(notice)
    params = await pickup_params(deps, d, code, expires_at)
    try:
        biz_id = await deps.notifier.send(d.recipient.phone, TEMPLATE, params, key=notice_id)
    except SmsError as e:
        async with deps.uow() as uow:
            failed = sms_outcome.failed(e.code)
            await uow.tracking.finish_notice(notice_id, now=deps.clock.now(), outcome=failed)
        raise
    async with deps.uow() as uow:
        outcome = sms_outcome.sent(biz_id)  # the provider's id of the message
        await uow.tracking.finish_notice(notice_id, now=deps.clock.now(), outcome=outcome)
        await uow.console.clear_pickup_slip(d.id)
        await note(
            uow, d, at=now, actor=actor, cause=Cause.PICKUP_CODE_SENT, expires_at=expires_at.isoformat(),
            notice_id=notice_id,
        )  # fmt: skip
    return Issued(d.id, expires_at, d.recipient.phone)


def notice_of(code, notices: list[Notice]) -> Notice | None:
    """The SMS notice of a stored code: `issue` writes both with one time. None for a code that went on
    a slip, or for no code."""
    if code is None:
        return None
    return next((n for n in reversed(notices) if n.created_at == code.created_at), None)


async def sent_since(deps: Deps, d: Dispatch, since: datetime, *, actor: str) -> Fate:
    """Whether the code stored by SMS since `since` reached the provider, asked before another is sent: a
    second code never goes while the first may have gone, unless the provider says it did not.

    Its notice tells (an answer, a receipt), else the provider is asked (`was_sent`, by the notice's id):
    when the answer was lost, and when the sender died or its last write failed before the answer was
    recorded. SENT is recorded as sent (the audit line, no slip waiting); NOT_SENT when no code went since
    or the provider did not take it; UNKNOWN when it may have gone and the provider cannot be asked.
    SmsError when asking fails: asked again on the next try."""
    async with deps.uow(read_only=True) as uow:
        code = await uow.console.pickup_code(d.id)
        notice = notice_of(code, await uow.tracking.notices_for([d.id], kind=TEMPLATE) if code else [])
    if notice is None or code.created_at < since or code.used_at is not None:
        return Fate.NOT_SENT
    fate = sms_outcome.fate(notice.outcome)
    if fate is Fate.UNKNOWN:
        lookup = getattr(deps.notifier, "was_sent", None)
        if lookup is None:
            return Fate.UNKNOWN
        fate = Fate.SENT if await lookup(d.recipient.phone, notice.id, notice.created_at) else Fate.NOT_SENT
    if fate is Fate.SENT and not notice.outcome.startswith("sent"):  # not recorded as sent yet
        async with deps.uow() as uow:
            latest = await uow.tracking.get_notice(notice.id)  # a receipt may have come meanwhile
            outcome = sms_outcome.confirmed(latest.outcome)
            await uow.tracking.finish_notice(notice.id, now=deps.clock.now(), outcome=outcome)
            await uow.console.clear_pickup_slip(d.id)
            await note(
                uow, d, at=notice.created_at, actor=actor, cause=Cause.PICKUP_CODE_SENT,
                expires_at=code.expires_at.isoformat(), notice_id=notice.id,
            )  # fmt: skip
    return fate


async def release(
    new_uow: UnitOfWorkFactory, dispatch_id: str, code: str, *, actor: str, now: datetime, max_attempts: int
):
    """awaiting_pickup → picked_up when `code` is the live code; InvalidInput (audited) otherwise.

    Each try is counted before the code is checked, so parallel tries cannot all be checked past
    `max_attempts`."""
    code = (code or "").strip()
    async with new_uow() as uow:
        d = await load(uow, dispatch_id)
        if d.status is not Status.AWAITING_PICKUP:
            raise Conflict(f"状态为 {d.status.value} 的证照不能办理自取")
        code_hash = await uow.console.reserve_pickup_attempt(dispatch_id, now=now, max_attempts=max_attempts)
        problem = None
        if code_hash is None:
            stored = await uow.console.pickup_code(dispatch_id)
            problem = _unusable(stored, now, max_attempts) or "取件码输错次数过多已失效，请重新发送"
    if problem is None and not (code.isdigit() and await asyncio.to_thread(verify_secret, code_hash, code)):
        problem = "取件码不正确"
    if problem:
        async with new_uow() as uow:
            await note(uow, d, at=now, actor=actor, cause=Cause.PICKUP_CODE_REJECTED, reason=problem)
        raise InvalidInput([("code", problem)])
    async with new_uow() as uow:
        if not await uow.console.use_pickup_code(dispatch_id, code_hash=code_hash, now=now):
            raise Conflict("该取件码刚刚已被使用或已重新发送")
        d = await load(uow, dispatch_id)
        return await move(
            uow,
            d,
            Status.PICKED_UP,
            at=now,
            actor=actor,
            cause=Cause.PICKED_UP,
        )


def _unusable(stored, now: datetime, max_attempts: int) -> str | None:
    if stored is None:
        return "尚未发送取件码，请先发送"
    if stored.used_at is not None:
        return "取件码已使用"
    if stored.expires_at <= now:
        return "取件码已过期，请重新发送"
    if stored.attempts >= max_attempts:
        return "取件码输错次数过多已失效，请重新发送"
    return None


async def codes_state(uow: UnitOfWork, ids: list[str], *, now: datetime) -> dict[str, str]:
    """{dispatch id: a short Chinese state of its code} for the counter's list: "已发送" only once the
    provider took the SMS."""
    async with uow:
        rows = await uow.console.pickup_codes_for(ids)
        slips = await uow.console.pickup_slips_for(ids)
        notices: dict[str, list[Notice]] = {}
        for n in await uow.tracking.notices_for(ids, kind=TEMPLATE):
            notices.setdefault(n.dispatch_id, []).append(n)
    out = {}
    for dispatch_id in ids:
        row, slip = rows.get(dispatch_id), slips.get(dispatch_id)
        notice = notice_of(row, notices.get(dispatch_id, []))
        fate = sms_outcome.fate(notice.outcome) if notice else Fate.SENT
        if slip is not None and slip.printed_at is None:
            out[dispatch_id] = f"{TO_PRINT}（{slip.reason}）"
        elif row is None:
            out[dispatch_id] = SENDING
        elif row.used_at:
            out[dispatch_id] = "已使用"
        elif row.expires_at <= now:
            out[dispatch_id] = "已过期"
        elif slip is not None and slip.printed_at >= row.created_at:
            out[dispatch_id] = f"已打印取件通知单，{cn_time(row.expires_at)} 前有效"
        elif fate is Fate.UNKNOWN:  # on its way, or its answer lost: the job asks the provider
            out[dispatch_id] = SENDING
        elif fate is Fate.NOT_SENT:
            reason = sms_outcome.error(notice.outcome)
            out[dispatch_id] = f"{SEND_FAILED}（{reason}）" if reason else SEND_FAILED
        else:
            out[dispatch_id] = f"已发送，{cn_time(row.expires_at)} 前有效"
    return out
