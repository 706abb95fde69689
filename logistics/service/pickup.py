"""Self-pickup at the counter (窗口自取): a one-time code by SMS, checked at the counter.

The code is six random digits, stored only as an argon2 hash, valid for `pickup_code_hours`, and dies
after `pickup_code_attempts` wrong tries. Sending, every wrong try and the pickup are in the audit trail.
The SMS goes through the Notifier port with the code's own idempotency key."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.cause import Cause
from ..domain.errors import Conflict, InvalidInput
from ..domain.status import Status
from ..ports import UnitOfWork, UnitOfWorkFactory
from .console_text import cn_time
from .deps import Deps
from .dispatches import load, move, note
from .halls import origin_of
from .users import hash_secret, verify_secret

TEMPLATE = "pickup_code"


@dataclass(frozen=True)
class Issued:
    dispatch_id: str
    expires_at: datetime
    phone: str


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


async def issue(deps: Deps, dispatch_id: str, *, actor: str, code: str | None = None) -> Issued:
    """Send a fresh code to the applicant; an earlier code stops working."""
    if deps.notifier is None:
        raise Conflict("未配置短信网关，无法发送取件码")
    now, settings = deps.clock.now(), deps.settings
    code = code or new_code()
    hashed = await asyncio.to_thread(hash_secret, code)
    expires_at = now + timedelta(hours=settings.pickup_code_hours)
    async with deps.uow() as uow:
        d = await load(uow, dispatch_id)
        if d.status is not Status.AWAITING_PICKUP:
            raise Conflict(f"状态为 {d.status.value} 的证照不在窗口待取，不能发送取件码")
        await uow.console.put_pickup_code(d.id, code_hash=hashed, now=now, expires_at=expires_at, by=actor)
        await note(
            uow, d, at=now, actor=actor, cause=Cause.PICKUP_CODE_SENT, expires_at=expires_at.isoformat()
        )
    hall = await origin_of(deps, d.hall)  # the hall the citizen collects it at
    params = {
        "matter_name": d.matter_name,
        "code": code,
        "expires_at": cn_time(expires_at),
        "hall": hall.name,
        "address": hall.address,
    }
    await deps.notifier.send(d.recipient.phone, TEMPLATE, params, key=f"pickup:{d.id}:{now.isoformat()}")
    return Issued(d.id, expires_at, d.recipient.phone)


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
    """{dispatch id: a short Chinese state of its code} for the counter's list."""
    async with uow:
        rows = await uow.console.pickup_codes_for(ids)
    out = {}
    for dispatch_id, row in rows.items():
        if row.used_at:
            out[dispatch_id] = "已使用"
        elif row.expires_at <= now:
            out[dispatch_id] = "已过期"
        else:
            out[dispatch_id] = f"已发送，{cn_time(row.expires_at)} 前有效"
    return out
