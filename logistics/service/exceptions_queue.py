"""The staff's exceptions queue: what needs a person, with its reason and how long it has waited."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..ports import UnitOfWork
from ..ports.repositories.jobs import DEAD

STUCK_STATUSES = ["booked", "label_printed", "handed_over", "in_transit", "out_for_delivery", "returning"]
ATTENTION = {
    "delivery_failed": "投递未成功",
    "returned": "邮件已退回",
    "booking_failed": "下单失败",
}


def _item(kind: str, d, since: datetime, now: datetime, reason: str, **extra) -> dict:
    return {
        "kind": kind,
        "dispatch_id": d.id if d else None,
        "case_no": d.case_no if d else None,
        "waybill_no": d.waybill_no if d else None,
        "status": d.status.value if d else None,
        "reason": reason,
        "since": since.isoformat(),
        "age_s": int((now - since).total_seconds()),
        **extra,
    }


async def list_exceptions(uow: UnitOfWork, *, now: datetime, stuck_days: float) -> list[dict]:
    async with uow:
        return await _exceptions(uow, now=now, stuck_days=stuck_days)


async def _exceptions(uow: UnitOfWork, *, now: datetime, stuck_days: float) -> list[dict]:
    out = []
    cutoff = now - timedelta(days=stuck_days)
    for d, last_seen in await uow.tracking.quiet_parcels(STUCK_STATUSES, cutoff):
        days = (now - last_seen).total_seconds() / 86400
        out.append(_item("stuck", d, last_seen, now, f"{days:.1f} 天无扫描记录"))
    found, _ = await uow.dispatches.search(status=",".join(ATTENTION), limit=500)
    for d in found:
        since = d.updated_at or d.created_at
        out.append(_item(d.status.value, d, since, now, d.reason or ATTENTION[d.status.value]))
    for job in await uow.jobs.list_jobs(DEAD):
        dispatch_id = await _dispatch_of(uow, job["payload"])
        d = await uow.dispatches.get(dispatch_id) if dispatch_id else None
        if d is None and uow.hall is not None:
            continue  # a hall sees its own dispatches' dead jobs only
        out.append(
            _item(
                "dead_job",
                d,
                job["updated_at"],
                now,
                job["last_error"][:300] or "重试次数已用尽",
                job_id=job["id"],
                job_kind=job["kind"],
                attempts=job["attempts"],
            )
        )
    return sorted(out, key=lambda item: -item["age_s"])


async def _dispatch_of(uow: UnitOfWork, payload: dict) -> str | None:
    if "dispatch_id" in payload:
        return payload["dispatch_id"]
    if "notice_id" in payload:
        notice = await uow.tracking.get_notice(payload["notice_id"])
        return notice.dispatch_id if notice else None
    return None
