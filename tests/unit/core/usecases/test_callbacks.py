"""Callbacks to the approval system (`callbacks.handle_callback`), on the fake unit of work: signed
with the client's secret, retried while the approval system fails, dead-lettered after the last
attempt, and sent once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from logistics.domain.signing import verify
from logistics.service import callbacks, tracking
from logistics.service.job_contract import CALLBACK, GiveUp, RetryLater
from tests.fakes import fake_world
from tests.fakes.deps import CLIENT_SECRET
from tests.fixtures.dispatches import NOW

from .kit import S, given, job, notices, pending_jobs, scan

DELIVERED = scan(S.DELIVERED, 60, "704")


async def delivered(world, **job_over):
    """A delivered dispatch and its callback's job, as the worker would hand it over."""
    d = await given(world, S.BOOKED)
    await tracking.record(world.uow(), [DELIVERED], now=NOW, source="push")
    [queued] = await pending_jobs(world, CALLBACK)
    return d, job(CALLBACK, queued["payload"], job_id=queued["id"], **job_over)


def signed(body: bytes, headers: dict, secret: str, world) -> bool:
    timestamp, signature, now_s = (
        headers["X-Timestamp"],
        headers["X-Signature"],
        world.clock.now().timestamp(),
    )
    return verify(secret, timestamp, body, signature, now_s=now_s, window_s=300) is None


async def the_notice(world):
    [notice] = await notices(world, CALLBACK)
    return notice


async def test_a_callback_is_signed_with_the_clients_secret_and_names_its_event():
    world = fake_world()
    d, callback_job = await delivered(world)
    await callbacks.handle_callback(callback_job, world.deps)
    [(url, body, headers)] = world.approval.posts
    assert url == world.deps.settings.callback_url
    assert signed(body, headers, CLIENT_SECRET, world) and not signed(body, headers, "another secret", world)
    sent = json.loads(body)
    notice = await the_notice(world)
    assert (sent["event_id"], sent["dispatch_id"], sent["status"]) == (notice.id, d.id, "delivered")
    sent_time = datetime.fromisoformat(sent["time"])  # the scan's own time, in China time
    assert (sent_time, sent_time.utcoffset()) == (DELIVERED.time, timedelta(hours=8))
    assert (notice.sent_at, notice.outcome) == (world.clock.now(), "delivered: HTTP 200")


@pytest.mark.parametrize("failure", [503, OSError("connection refused")])
async def test_a_failed_callback_is_retried_later_and_stays_unsent(failure):
    world = fake_world()
    _, callback_job = await delivered(world)
    world.approval.answers = [failure]
    with pytest.raises(RetryLater) as retry:
        await callbacks.handle_callback(callback_job, world.deps)
    assert retry.value.code == ("callback_http_503" if failure == 503 else "callback_unreachable")
    assert retry.value.retry_after_s > 0
    assert (await the_notice(world)).sent_at is None
    next_attempt = job(CALLBACK, callback_job.payload, attempts=2)
    await callbacks.handle_callback(next_attempt, world.deps)  # the approval system is back
    assert len(world.approval.posts) == 2
    assert (await the_notice(world)).outcome == "delivered: HTTP 200"


async def test_after_the_last_attempt_the_callback_is_dead_lettered():
    world = fake_world(callback_max_attempts=4)
    _, last = await delivered(world, attempts=4, max_attempts=100)
    world.approval.answers = [500]
    with pytest.raises(GiveUp) as gave_up:
        await callbacks.handle_callback(last, world.deps)
    assert gave_up.value.code == "callback_http_500"
    assert (await the_notice(world)).sent_at is None


async def test_a_callback_already_delivered_is_not_sent_again():
    world = fake_world()
    _, callback_job = await delivered(world)
    await callbacks.handle_callback(callback_job, world.deps)
    await callbacks.handle_callback(job(CALLBACK, callback_job.payload, attempts=2), world.deps)  # a rerun
    assert len(world.approval.posts) == 1
