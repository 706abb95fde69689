"""A unit of work commits when left normally and rolls everything back on an exception."""

from __future__ import annotations

import pytest

from logistics.domain.model import AuditEvent
from logistics.domain.status import Status
from logistics.service.views import dispatch_json
from tests.fixtures.dispatches import NOW, make_dispatch

from .conftest import stored


class Boom(Exception):
    pass


async def test_leaving_normally_commits_for_every_later_unit(new_uow):
    d = make_dispatch("U1")
    await stored(new_uow, d)
    async with new_uow(read_only=True) as uow:
        assert (await uow.dispatches.get(d.id)).case_no == "U1"
    async with new_uow() as uow:
        assert await uow.dispatches.get(d.id) is not None


async def test_an_exception_rolls_back_every_repository_written(new_uow):
    kept = make_dispatch("U2")
    await stored(new_uow, kept)
    lost = make_dispatch("U3")
    with pytest.raises(Boom):
        async with new_uow() as uow:
            assert await uow.dispatches.insert_new(lost, request_hash="h", response=dispatch_json(lost))
            after, event = kept.moved(Status.BOOKING, at=NOW, actor="t", cause="c")
            assert await uow.dispatches.save_move(kept, after, event)
            await uow.jobs.enqueue("book", {"dispatch_id": kept.id}, now=NOW, dedupe_key="book:x")
            await uow.pool.add(["1100000000013"], now=NOW)
            await uow.console.audit(at=NOW, actor="a", action="x", subject="s")
            await uow.tracking.count({"n": 1})
            raise Boom
    async with new_uow(read_only=True) as uow:
        assert await uow.dispatches.get(lost.id) is None
        assert (await uow.dispatches.get(kept.id)).status is Status.RECEIVED
        assert await uow.dispatches.events(kept.id) == []
        assert await uow.jobs.counts() == {}
        assert await uow.pool.counts() == {"free": 0, "assigned": 0}
        assert await uow.console.audit_log() == []
        assert await uow.tracking.read_counters() == {}
    async with new_uow() as uow:  # the key the rolled-back job held is free
        await uow.jobs.enqueue("book", {"dispatch_id": kept.id}, now=NOW, dedupe_key="book:x")
        assert await uow.jobs.counts() == {"pending": 1}


async def test_a_unit_is_entered_once(new_uow):
    uow = new_uow()
    async with uow:
        pass
    with pytest.raises(RuntimeError):
        async with uow:
            pass


async def test_what_a_unit_wrote_it_reads_back_before_commit(new_uow):
    d = make_dispatch("U4")
    async with new_uow() as uow:
        await uow.dispatches.insert_new(d, request_hash="h", response=dispatch_json(d))
        await uow.dispatches.add_event(d.id, AuditEvent(NOW, "t", "c", None, Status.RECEIVED, {}))
        assert (await uow.dispatches.get(d.id)).id == d.id
        assert len(await uow.dispatches.events(d.id)) == 1
