"""Adaptive carrier polling: often when a parcel is out for delivery, rarely when quiet, never after
it is delivered or returned or too old. The scheduler only picks due parcels and queues batches; the
durable queue's workers call the carrier (through its rate limiter) and record what they find."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.status import TERMINAL, Status
from ..ports import CarrierError, NotSupported, UnitOfWork
from . import tracking
from .deps import Deps
from .job_contract import TRACK_POLL, Job

log = logging.getLogger("certpost.polling")

_NOT_COLLECTED = frozenset({Status.BOOKED, Status.LABEL_PRINTED})


@dataclass(frozen=True)
class PollPolicy:
    out_for_delivery_s: float = 900.0
    active_s: float = 3600.0
    quiet_s: float = 6 * 3600.0
    quiet_after_s: float = 2 * 86400.0
    not_collected_s: float = 3 * 3600.0
    max_age_s: float = 30 * 86400.0
    error_s: float = 300.0

    @classmethod
    def from_settings(cls, s) -> PollPolicy:
        return cls(
            out_for_delivery_s=s.poll_out_for_delivery_s, active_s=s.poll_active_s, quiet_s=s.poll_quiet_s,
            quiet_after_s=s.poll_quiet_after_s, not_collected_s=s.poll_not_collected_s,
            max_age_s=s.tracking_max_age_days * 86400.0, error_s=s.poll_error_s,
        )  # fmt: skip


def next_poll_in(
    status: Status, *, now: datetime, started_at: datetime, last_event_at: datetime | None, policy: PollPolicy
) -> float | None:
    """Seconds until the next poll of one parcel, or None to stop following it."""
    if status in TERMINAL or (now - started_at).total_seconds() > policy.max_age_s:
        return None
    if status is Status.OUT_FOR_DELIVERY:
        return policy.out_for_delivery_s
    if status in _NOT_COLLECTED and last_event_at is None:
        return policy.not_collected_s
    quiet_for = (now - (last_event_at or started_at)).total_seconds()
    return policy.quiet_s if quiet_for > policy.quiet_after_s else policy.active_s


def batch_size(deps: Deps) -> int:
    """Small enough that one batch finishes well inside a job lease at the carrier's rate."""
    s = deps.settings
    if s.carrier_rate_per_s:
        return max(1, min(s.poll_batch, int(s.carrier_rate_per_s * s.job_lease_s / 4)))
    return s.poll_batch


async def schedule_due(deps: Deps, *, limit: int | None = None) -> int:
    """Queue poll jobs for the parcels that are due (the scheduler calls this on one instance)."""
    s, now, size = deps.settings, deps.clock.now(), batch_size(deps)
    async with deps.uow() as uow:
        due = await uow.tracking.take_due(
            now=now,
            limit=limit or s.poll_sweep_limit,
            hold_s=s.poll_hold_s,
            first_poll_s=s.poll_first_s,
        )
        batches = [(TRACK_POLL, {"waybills": due[i : i + size]}, None) for i in range(0, len(due), size)]
        await uow.jobs.enqueue_many(batches, now=now, max_attempts=3)
    return len(due)


async def _track(deps: Deps, waybill_no: str):
    try:
        return await deps.carrier.track(waybill_no)
    except NotSupported:
        raise
    except CarrierError as e:
        log.info("trace failed: %s", type(e).__name__)
        return None


async def handle_poll(job: Job, deps: Deps, writer: PollWriter | None = None) -> None:
    """Trace a batch of parcels (concurrently; the carrier's limiter paces the calls), then store what
    was found: no transaction is open while the carrier is asked. With a `writer`, batches that finish
    together are stored in one transaction."""
    waybills: list[str] = job.payload["waybills"]
    results = await asyncio.gather(*(_track(deps, wb) for wb in waybills))
    if writer is None:
        await store_polls(deps, [(waybills, results)])
    else:
        await writer.store(waybills, results)


Polled = tuple[list[str], list]  # waybills and, for each, its scans (None: the trace failed)


async def store_polls(deps: Deps, batches: list[Polled]) -> None:
    """Store the scans of several traced batches, apply them, and set each parcel's next poll, in one
    short transaction of a few statements."""
    async with deps.uow() as uow:
        await store_polls_in(uow, deps, batches)


async def store_polls_in(uow: UnitOfWork, deps: Deps, batches: list[Polled]) -> None:
    """`store_polls` in an open unit of work."""
    policy, now = PollPolicy.from_settings(deps.settings), deps.clock.now()
    waybills = [wb for wbs, _ in batches for wb in wbs]
    results = [events for _, found in batches for events in found]
    found = [e for events in results if events for e in events]
    _, progress = await tracking.store_and_apply(
        uow, found, waybills, now=now, source="poll", known_codes=deps.known_codes
    )
    polls = []
    for wb, events in zip(waybills, results, strict=True):
        p = progress.get(wb)
        if p is None:
            continue
        if events is None:
            delay = policy.error_s
        else:
            delay = next_poll_in(
                p.status, now=now, started_at=p.started_at, last_event_at=p.last_event_at, policy=policy
            )
        at = None if delay is None else now + timedelta(seconds=delay)
        polls.append(dict(p.row(), next_poll_at=at))
    await uow.tracking.polled_many(polls, now=now)


class PollWriter:
    """Group commit for poll results: while one transaction is being written, the batches that finish
    meanwhile wait and then go together in the next one. On SQLite every statement is a hop to the
    driver's thread and back through a busy event loop, so a transaction costs about the same for one
    batch as for ten; the write lock is held far less, and the workers soon trace again. A group that
    fails is retried batch by batch, so one bad batch fails only its own job."""

    def __init__(self, deps: Deps):
        self.deps = deps
        self._store_all = lambda uow, group: store_polls_in(uow, deps, group)

    async def store(self, waybills: list[str], results: list) -> None:
        await self.deps.write_together(self._store_all, (waybills, results))


def job_handlers(deps: Deps) -> dict:
    if deps.carrier is None:
        return {}
    writer = PollWriter(deps)

    async def poll(job: Job) -> None:
        await handle_poll(job, deps, writer)

    return {TRACK_POLL: poll}
