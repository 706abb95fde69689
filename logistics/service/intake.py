"""Intake: a completed case from the approval system becomes a dispatch, exactly once.

`plan_intake` decides, with no I/O, what a batch of requests writes and what each is answered, given
the cases already stored; `record_intake_batch` reads those cases and has the plan written through the
unit of work. One request is a batch of one; the group commit (and SQLite's fast intake writer) run the
same planner over the requests that arrive together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..domain.cause import Cause
from ..domain.errors import Conflict
from ..domain.model import AuditEvent, DeliveryMethod, Direction, Dispatch
from ..domain.status import Status
from ..ports import UnitOfWork
from ..ports.repositories.dispatches import CaseKey, NewCase
from .job_contract import BOOK
from .notifications import pickup_code_job
from .views import dispatch_json


@dataclass(slots=True)
class IntakeRequest:
    dispatch: Dispatch
    request_hash: str
    now: datetime
    auto_book: bool
    max_attempts: int

    @property
    def key(self) -> CaseKey:
        d = self.dispatch
        return d.client_id, d.case_no, d.direction.value


@dataclass(slots=True)
class IntakeResult:
    created: bool
    response: dict
    queued: bool = False  # a job was enqueued: wake the workers
    body: str | None = field(default=None, compare=False)  # `response` already serialized, if known


@dataclass(slots=True)
class IntakePlan:
    new: list[NewCase]
    """The cases to create, in the order of the requests that create them."""
    results: list[IntakeResult | Exception]
    """Each request's answer, once `new` is written: a Conflict is answered, not raised."""


def initial_moves(d: Dispatch, now: datetime) -> tuple[Dispatch, list[AuditEvent]]:
    actor = f"client:{d.client_id}"
    events = [AuditEvent(now, actor, Cause.INTAKE, None, Status.RECEIVED)]
    if d.direction is Direction.OUTBOUND and d.delivery_method is DeliveryMethod.PICKUP:
        d, event = d.moved(Status.AWAITING_PICKUP, at=now, actor="system", cause=Cause.SELF_PICKUP)
        events.append(event)
    return d, events


def _replay(req: IntakeRequest, stored_hash: str, stored_response: dict) -> IntakeResult | Conflict:
    if stored_hash != req.request_hash:
        d = req.dispatch
        return Conflict(
            f"case_no {d.case_no} ({d.direction.value}) was already received with different content"
        )
    return IntakeResult(False, stored_response)


def plan_intake(reqs: list[IntakeRequest], stored: dict[CaseKey, tuple[str, dict]]) -> IntakePlan:
    """What a batch of intake requests writes, and each one's answer, given the cases already stored
    ({key: (request_hash, response)}). The first request of a new case creates it; a later one with the
    same content replays its answer, one with different content is a Conflict. Pure."""
    stored = dict(stored)
    new: list[NewCase] = []
    results: list[IntakeResult | Exception] = []
    for req in reqs:
        key = req.key
        if key in stored:
            results.append(_replay(req, *stored[key]))
            continue
        d, events = initial_moves(req.dispatch, req.now)
        response = dispatch_json(d)
        queued = req.auto_book and d.status is Status.RECEIVED and d.needs_carrier
        job = (BOOK, {"dispatch_id": d.id}, f"book:{d.id}") if queued else None
        if d.status is Status.AWAITING_PICKUP:  # self-pickup: the code goes out with no staff action
            job, queued = pickup_code_job(d, req.now), True
        new.append(NewCase(d, req.request_hash, response, events, job, req.now, req.max_attempts))
        stored[key] = (req.request_hash, response)
        results.append(IntakeResult(True, response, queued))
    return IntakePlan(new, results)


async def record_intake_batch(uow: UnitOfWork, reqs: list[IntakeRequest]) -> list[IntakeResult | Exception]:
    """Record a batch of intake requests in the open unit of work: each one's result, a Conflict
    answered as a value. A case stored meanwhile by another writer (between the read and the insert)
    is answered as what it is now: a replay or a conflict."""
    keys = {r.key for r in reqs}
    plan = plan_intake(reqs, await uow.dispatches.stored_cases(keys))
    inserted = await uow.dispatches.insert_cases(plan.new)
    late = {
        (c.dispatch.client_id, c.dispatch.case_no, c.dispatch.direction.value)
        for c in plan.new
        if c.dispatch.id not in inserted
    }
    if late:
        again = [i for i, r in enumerate(reqs) if r.key in late]
        now_stored = await uow.dispatches.stored_cases(late)
        replanned = plan_intake([reqs[i] for i in again], now_stored)
        for i, result in zip(again, replanned.results, strict=True):
            plan.results[i] = result if reqs[i].key in now_stored else _elsewhere(reqs[i])
    return plan.results


def _elsewhere(req: IntakeRequest) -> Conflict:
    """The case is stored, but not in the hall this unit of work sees: the client was bound to another
    hall after submitting it. Never a 201 for a row that was not written."""
    d = req.dispatch
    return Conflict(f"case {d.case_no} ({d.direction.value}) is already stored under another hall")


async def record_intake(uow: UnitOfWork, req: IntakeRequest) -> IntakeResult:
    """Record one intake request in the open unit of work (its dispatch, audit trail and booking job).

    A replay with the same content returns the first response; different content is a Conflict."""
    (result,) = await record_intake_batch(uow, [req])
    if isinstance(result, Exception):
        raise result
    return result
