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
class IntakeRequest:
    dispatch: Dispatch
    request_hash: str
    now: datetime
    auto_book: bool
    max_attempts: int

    @property
    def key(self) -> tuple[str, str]:
        return self.dispatch.client_id, self.dispatch.case_no


@dataclass(frozen=True)
class IntakeResult:
    created: bool
    response: dict
    queued: bool = False  # a job was enqueued: wake the workers


def initial_moves(d: Dispatch, now: datetime) -> tuple[Dispatch, list[AuditEvent]]:
    actor = f"client:{d.client_id}"
    events = [AuditEvent(now, actor, "intake", None, Status.RECEIVED)]
    if d.direction is Direction.OUTBOUND and d.delivery_method is DeliveryMethod.PICKUP:
        d, event = d.moved(Status.AWAITING_PICKUP, at=now, actor="system", cause="self-pickup at the hall")
        events.append(event)
    return d, events


def _booking_job(d: Dispatch) -> tuple[str, dict, str]:
    return BOOK, {"dispatch_id": d.id}, f"book:{d.id}"


def _wants_booking(req: IntakeRequest, d: Dispatch) -> bool:
    return req.auto_book and d.status is Status.RECEIVED and d.needs_carrier


def _replay(req: IntakeRequest, stored_hash: str, stored_response: dict) -> IntakeResult:
    if stored_hash != req.request_hash:
        raise Conflict(f"case_no {req.dispatch.case_no} was already received with different content")
    return IntakeResult(False, stored_response)


async def record_intake(conn: AsyncConnection, req: IntakeRequest) -> IntakeResult:
    """Insert the dispatch, its audit trail and its booking job in the caller's transaction.

    A replay with the same content returns the first response; different content is a Conflict."""
    d, events = initial_moves(req.dispatch, req.now)
    response = dispatch_json(d)
    if await dispatch_repo.insert_new(conn, d, request_hash=req.request_hash, response=response):
        await dispatch_repo.add_events(conn, [(d.id, e) for e in events])
        queued = _wants_booking(req, d)
        if queued:
            await queue.enqueue_many(conn, [_booking_job(d)], now=req.now, max_attempts=req.max_attempts)
        return IntakeResult(True, response, queued)
    return _replay(req, *await dispatch_repo.find_by_case(conn, *req.key))


async def record_intake_batch(
    conn: AsyncConnection, reqs: list[IntakeRequest]
) -> list[IntakeResult | Exception]:
    """The same as `record_intake` for many requests in a few multi-row statements (group commit).

    A case that another process inserts meanwhile makes the insert fail; the caller then falls back
    to `record_intake` one by one."""
    stored = await dispatch_repo.find_many_by_case(conn, {r.key for r in reqs})
    creator: dict[tuple[str, str], int] = {}
    new, events, jobs, queued = [], [], [], set()
    for i, req in enumerate(reqs):
        if req.key in stored or req.key in creator:
            continue
        d, moves = initial_moves(req.dispatch, req.now)
        creator[req.key] = i
        stored[req.key] = (req.request_hash, dispatch_json(d))
        new.append((d, req.request_hash, stored[req.key][1]))
        events += [(d.id, e) for e in moves]
        if _wants_booking(req, d):
            jobs.append(_booking_job(d))
            queued.add(i)
    await dispatch_repo.insert_many(conn, new)
    await dispatch_repo.add_events(conn, events)
    if jobs:
        await queue.enqueue_many(conn, jobs, now=reqs[0].now, max_attempts=reqs[0].max_attempts)
    results: list[IntakeResult | Exception] = []
    for i, req in enumerate(reqs):
        if creator.get(req.key) == i:
            results.append(IntakeResult(True, stored[req.key][1], i in queued))
            continue
        try:
            results.append(_replay(req, *stored[req.key]))
        except Conflict as e:
            results.append(e)
    return results
