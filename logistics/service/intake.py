"""Intake: a completed case from the approval system becomes a dispatch, exactly once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.cause import Cause
from ..domain.errors import Conflict
from ..domain.model import AuditEvent, DeliveryMethod, Direction, Dispatch
from ..domain.status import Status
from ..jobs import queue
from ..storage import dispatch_repo
from ..storage.raw_rows import RawRows
from .job_contract import BOOK
from .views import dispatch_json


@dataclass(slots=True)
class IntakeRequest:
    dispatch: Dispatch
    request_hash: str
    now: datetime
    auto_book: bool
    max_attempts: int

    @property
    def key(self) -> tuple[str, str]:
        return self.dispatch.client_id, self.dispatch.case_no


@dataclass(slots=True)
class IntakeResult:
    created: bool
    response: dict
    queued: bool = False  # a job was enqueued: wake the workers
    body: str | None = field(default=None, compare=False)  # `response` already serialized, if known


def initial_moves(d: Dispatch, now: datetime) -> tuple[Dispatch, list[AuditEvent]]:
    actor = f"client:{d.client_id}"
    events = [AuditEvent(now, actor, Cause.INTAKE, None, Status.RECEIVED)]
    if d.direction is Direction.OUTBOUND and d.delivery_method is DeliveryMethod.PICKUP:
        d, event = d.moved(Status.AWAITING_PICKUP, at=now, actor="system", cause=Cause.SELF_PICKUP)
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


def plan_batch(reqs: list[IntakeRequest], stored: dict, dialect: str) -> tuple[list[tuple], list]:
    """The writes for a batch of intake requests, and each request's result, given the cases already
    stored. Duplicates within the batch are replays of the first; a different body is a Conflict."""
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
    writes = []
    if new:
        writes += [dispatch_repo.insert_many(new), dispatch_repo.insert_events(events)]
    if jobs:
        writes.append(queue.insert_jobs(dialect, jobs, now=reqs[0].now, max_attempts=reqs[0].max_attempts))
    results: list[IntakeResult | Exception] = []
    for i, req in enumerate(reqs):
        if creator.get(req.key) == i:
            results.append(IntakeResult(True, stored[req.key][1], i in queued))
            continue
        try:
            results.append(_replay(req, *stored[req.key]))
        except Conflict as e:
            results.append(e)
    return writes, results


def _keys(reqs: list[IntakeRequest]) -> set[tuple[str, str]]:
    return {r.key for r in reqs}


async def record_intake_batch(
    conn: AsyncConnection, reqs: list[IntakeRequest]
) -> list[IntakeResult | Exception]:
    """`record_intake` for many requests in a few multi-row statements (group commit). A case that
    another process inserts meanwhile fails the insert; the caller then falls back to one by one."""
    rows = await conn.execute(dispatch_repo.cases_query(_keys(reqs), conn.dialect.name))
    writes, results = plan_batch(reqs, dispatch_repo.cases_found(rows, _keys(reqs)), conn.dialect.name)
    for statement, params in writes:
        await conn.execute(statement, params)
    return results


class SqliteIntake:
    """`record_intake_batch` on raw DB-API rows, for SQLite's group commit (`SqliteWriter`).

    `batch` (on the writer's connection, in its transaction) reads the stored cases once, builds the
    rows of the new ones with the converters of the writer engine's dialect, then runs three
    `executemany` calls. Same outcomes as `plan_batch`: the first request of a case creates it, an
    identical one replays its response, a different one is a Conflict. A case inserted meanwhile by
    another process fails the insert: the committer then goes one by one."""

    def __init__(self, writer: Engine):
        self.rows = RawRows(writer.dialect)

    def batch(self, dbapi, reqs: list[IntakeRequest]) -> list[IntakeResult | Exception]:
        rows = self.rows
        keys = _keys(reqs)
        stored = rows.stored_cases(dbapi, keys)
        new, events, jobs = [], [], []
        results: list[IntakeResult | Exception] = []
        for req in reqs:
            key = req.key
            if key in stored:
                try:
                    results.append(_replay(req, *stored[key]))
                except Conflict as e:
                    results.append(e)
                continue
            d, moves = initial_moves(req.dispatch, req.now)
            response = dispatch_json(d)
            text = rows.json(response)
            stamp = rows.when(req.now)
            created = stamp if d.created_at is req.now else rows.when(d.created_at)
            new.append(rows.dispatch(d, req.request_hash, response, text, created))
            events += [rows.event(d.id, e, stamp if e.at is req.now else rows.when(e.at)) for e in moves]
            queued = _wants_booking(req, d)
            if queued:
                kind, payload, dedupe_key = _booking_job(d)
                jobs.append(rows.job(kind, payload, dedupe_key, req.max_attempts, stamp))
            stored[key] = (req.request_hash, response)
            results.append(IntakeResult(True, response, queued, text))
        rows.write(dbapi, new, events, jobs)
        return results
