"""Delivery receipts from the SMS provider (回执): each one is recorded on its notice (once) and in its
dispatch's audit trail; a pickup code that did not reach the citizen goes to the slip queue."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import sms_outcome
from ..domain.cause import Cause
from ..domain.status import Status
from .deps import Deps
from .dispatches import note
from .pickup import TEMPLATE
from .pickup_delivery import queue_slip


@dataclass(frozen=True)
class SmsReceipt:
    out_id: str  # our notice id, sent as the provider's OutId
    success: bool
    err_code: str
    provider: str


async def record_receipts(deps: Deps, receipts: list[SmsReceipt]) -> int:
    """Record each receipt once; returns how many were new (unknown and repeated ones are skipped)."""
    recorded = 0
    for r in receipts:
        recorded += await _record(deps, r)
    return recorded


async def _record(deps: Deps, r: SmsReceipt) -> int:
    now = deps.clock.now()
    async with deps.uow() as uow:
        notice = await uow.tracking.get_notice(r.out_id) if r.out_id else None
        d = await uow.dispatches.get(notice.dispatch_id) if notice else None
        if notice is None or d is None or sms_outcome.has_receipt(notice.outcome):
            return 0
        outcome = sms_outcome.with_receipt(notice.outcome, delivered=r.success, err_code=r.err_code)
        await uow.tracking.finish_notice(notice.id, now=notice.sent_at or now, outcome=outcome)
        cause = Cause.SMS_DELIVERED if r.success else Cause.SMS_NOT_DELIVERED
        detail = {"notice_id": notice.id, "kind": notice.kind, "err_code": r.err_code}
        await note(uow, d, at=now, actor=f"sms:{r.provider}", cause=cause, **detail)
        code = await uow.console.pickup_code(d.id)
    latest_code = code is not None and code.used_at is None and code.created_at <= notice.created_at
    if not r.success and notice.kind == TEMPLATE and d.status is Status.AWAITING_PICKUP and latest_code:
        await queue_slip(deps, d, f"短信未送达（{r.err_code or '未知原因'}）")
    return 1
