"""What the use-case tests share: a dispatch put in a given status in the fake store, jobs as the worker
hands them over, and reads of what was stored."""

from __future__ import annotations

from datetime import timedelta

from logistics.domain.model import Dispatch
from logistics.domain.status import Status
from logistics.ports import TrackEvent
from logistics.service.job_contract import Job
from logistics.service.views import dispatch_json
from tests.fakes import FakeWorld
from tests.fixtures.dispatches import NOW, make_dispatch

S = Status
WAYBILL = "1100000000013"
# How a dispatch got to each status (the statuses before it), for `given`.
PATHS = {
    S.RECEIVED: [],
    S.BOOKING: [S.BOOKING],
    S.BOOKING_FAILED: [S.BOOKING, S.BOOKING_FAILED],
    S.BOOKED: [S.BOOKING, S.BOOKED],
    S.IN_TRANSIT: [S.BOOKING, S.BOOKED, S.IN_TRANSIT],
    S.AWAITING_PICKUP: [S.AWAITING_PICKUP],
}


async def given(world: FakeWorld, status: Status = S.RECEIVED, case_no: str = "AF-1", **over) -> Dispatch:
    """A stored dispatch in `status`, moved there earlier (an hour ago) with its audit trail only: no
    notices, no jobs. A booked one has a waybill number and is followed."""
    d = make_dispatch(case_no, created_at=NOW - timedelta(hours=1), **over)
    async with world.uow() as uow:
        await uow.dispatches.insert_new(d, request_hash="h-" + case_no, response=dispatch_json(d))
        for to in PATHS[status]:
            changes = {"waybill_no": WAYBILL} if to is S.BOOKED else {}
            after, event = d.moved(to, at=NOW - timedelta(hours=1), actor="test", cause="setup", **changes)
            assert await uow.dispatches.save_move(d, after, event)
            d = after
        if d.waybill_no:
            await uow.tracking.start(d.id, d.waybill_no, now=NOW - timedelta(hours=1))
    return d


async def claimed(world: FakeWorld, kind: str, payload: dict, *, worker: str, dedupe_key=None) -> Job:
    """A job queued and claimed by `worker`, as the worker pool claims it (the fake has no claim: its
    row is set as `logistics.jobs.queue.claim` sets it)."""
    async with world.uow() as uow:
        await uow.jobs.enqueue(kind, payload, now=NOW, dedupe_key=dedupe_key)
    row = world.store.tables.jobs[max(world.store.tables.jobs)]
    row.update(state="running", attempts=1, locked_by=worker, lease_until=NOW + timedelta(minutes=1))
    return job(kind, payload, job_id=row["id"], max_attempts=row["max_attempts"])


async def job_states(world: FakeWorld) -> dict[int, str]:
    async with world.uow(read_only=True) as uow:
        return {j["id"]: j["state"] for state in ("pending", "running", "done", "dead")
                for j in await uow.jobs.list_jobs(state)}  # fmt: skip


def job(kind: str, payload: dict, *, attempts: int = 1, max_attempts: int = 8, job_id: int = 1) -> Job:
    """A job as the worker hands it to its handler (its `attempts` counts this run)."""
    return Job(job_id, kind, payload, attempts, max_attempts, "")


async def stored(world: FakeWorld, dispatch_id: str) -> Dispatch:
    async with world.uow(read_only=True) as uow:
        return await uow.dispatches.get(dispatch_id)


async def trail(world: FakeWorld, dispatch_id: str) -> list[tuple]:
    """The audit trail after setup: (from, to, cause) of each line."""
    async with world.uow(read_only=True) as uow:
        events = await uow.dispatches.events(dispatch_id)
    return [(e.from_status, e.to_status, e.cause) for e in events if e.cause != "setup"]


async def pending_jobs(world: FakeWorld, kind: str) -> list[dict]:
    async with world.uow(read_only=True) as uow:
        return sorted(
            (j for j in await uow.jobs.list_jobs("pending") if j["kind"] == kind), key=lambda j: j["id"]
        )


async def notices(world: FakeWorld, kind: str):
    """The notices of the pending jobs of `kind` (sms, callback), oldest first."""
    async with world.uow(read_only=True) as uow:
        return [
            await uow.tracking.get_notice(j["payload"]["notice_id"]) for j in await pending_jobs(world, kind)
        ]


async def poll_state(world: FakeWorld, waybill_no: str = WAYBILL):
    async with world.uow(read_only=True) as uow:
        return await uow.tracking.get(waybill_no)


def scan(
    status: Status, minutes: float, code: str, waybill_no: str = WAYBILL, reason: str = ""
) -> TrackEvent:
    """A carrier scan `minutes` after NOW."""
    return TrackEvent(
        waybill_no, NOW + timedelta(minutes=minutes), status, code, "扫描", "吉安市", reason=reason
    )
