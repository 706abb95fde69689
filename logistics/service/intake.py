"""Intake: a completed case from the approval system becomes a dispatch, exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.errors import Conflict
from ..domain.model import AuditEvent, DeliveryMethod, Direction, Dispatch
from ..domain.status import Status
from ..jobs import queue
from ..storage import dispatch_repo
from .job_kinds import BOOK
from .views import dispatch_json


@dataclass(frozen=True)
class IntakeResult:
    created: bool
    response: dict


def initial_moves(d: Dispatch, now: datetime) -> tuple[Dispatch, list[AuditEvent]]:
    actor = f"client:{d.client_id}"
    events = [AuditEvent(now, actor, "intake", None, Status.RECEIVED)]
    if d.direction is Direction.OUTBOUND and d.delivery_method is DeliveryMethod.PICKUP:
        d, event = d.moved(Status.AWAITING_PICKUP, at=now, actor="system", cause="self-pickup at the hall")
        events.append(event)
    return d, events


async def record_intake(
    conn: AsyncConnection,
    d: Dispatch,
    *,
    request_hash: str,
    now: datetime,
    auto_book: bool,
    max_attempts: int,
) -> IntakeResult:
    """Insert the dispatch, its audit trail and its booking job in the caller's transaction.

    A replay with the same content returns the first response; different content is a Conflict."""
    d, events = initial_moves(d, now)
    response = dispatch_json(d)
    if await dispatch_repo.insert_new(conn, d, request_hash=request_hash, response=response):
        for event in events:
            await dispatch_repo.add_event(conn, d.id, event)
        if auto_book and d.status is Status.RECEIVED and d.needs_carrier:
            await queue.enqueue(
                conn,
                BOOK,
                {"dispatch_id": d.id},
                now=now,
                max_attempts=max_attempts,
                dedupe_key=f"book:{d.id}",
            )
        return IntakeResult(True, response)
    stored = await dispatch_repo.find_by_case(conn, d.client_id, d.case_no)
    if stored.request_hash != request_hash:
        raise Conflict(f"case_no {d.case_no} was already received with different content")
    return IntakeResult(False, stored.response)
