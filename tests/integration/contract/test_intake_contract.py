"""`uow.dispatches` as intake uses it (h13-write's protocol): the cases already stored, and new cases
inserted with their audit events and booking jobs, once per (client, case_no, direction)."""

from __future__ import annotations

from datetime import timedelta

from logistics.domain.model import Direction
from logistics.domain.status import Status
from logistics.ports.repositories.dispatches import NewCase
from logistics.service.views import dispatch_json
from tests.fixtures.dispatches import NOW, make_dispatch

from .conftest import stored


def new_case(
    case_no: str, *, client_id="approval", job=True, now=NOW, max_attempts=8, direction=Direction.OUTBOUND
) -> NewCase:
    d = make_dispatch(case_no, client_id=client_id, direction=direction)
    intake = d.moved(Status.BOOKING, at=now, actor="intake", cause="intake")[1]  # any audit event will do
    booking_job = ("book", {"dispatch_id": d.id}, f"book:{d.id}") if job else None
    return NewCase(d, "h-" + case_no, dispatch_json(d), [intake], booking_job, now, max_attempts)


async def test_stored_cases_are_found_by_client_and_case_number(new_uow):
    a, b = make_dispatch("N1"), make_dispatch("N2", client_id="other")
    await stored(new_uow, a, b)
    async with new_uow(read_only=True) as uow:
        found = await uow.dispatches.stored_cases(
            {("approval", "N1", "outbound"), ("approval", "N1", "inbound"), ("approval", "N2", "outbound"),
             ("other", "N9", "outbound")}
        )  # fmt: skip
    assert found == {("approval", "N1", "outbound"): ("h-N1", dispatch_json(a))}


async def test_a_case_has_one_dispatch_per_direction(new_uow):
    """Both directions of one case go in; a second of either direction is skipped."""
    out, inb = new_case("N7"), new_case("N7", direction=Direction.INBOUND)
    again = [new_case("N7"), new_case("N7", direction=Direction.INBOUND)]
    async with new_uow() as uow:
        assert await uow.dispatches.insert_cases([out, inb]) == {out.dispatch.id, inb.dispatch.id}
    async with new_uow() as uow:
        assert await uow.dispatches.insert_cases(again) == set()
    async with new_uow(read_only=True) as uow:
        found = await uow.dispatches.stored_cases(
            {("approval", "N7", "outbound"), ("approval", "N7", "inbound")}
        )
        both = await uow.dispatches.of_case("approval", "N7")
        assert (await uow.dispatches.find_by_case("approval", "N7", "inbound")).request_hash == "h-N7"
        assert await uow.dispatches.of_case("other", "N7") == []
    assert set(found) == {("approval", "N7", "outbound"), ("approval", "N7", "inbound")}
    assert sorted(d.direction.value for d in both) == ["inbound", "outbound"]


async def test_new_cases_go_in_with_their_events_and_jobs_unless_stored_meanwhile(new_uow):
    taken = make_dispatch("N3")
    await stored(new_uow, taken)
    later = NOW + timedelta(seconds=5)
    cases = [
        new_case("N4"),
        new_case("N3"),
        new_case("N5", job=False),
        new_case("N6", now=later, max_attempts=3),
    ]
    async with new_uow() as uow:
        inserted = await uow.dispatches.insert_cases(cases)
        assert await uow.dispatches.insert_cases([]) == set()
    assert inserted == {cases[0].dispatch.id, cases[2].dispatch.id, cases[3].dispatch.id}
    async with new_uow(read_only=True) as uow:
        assert (await uow.dispatches.get(cases[0].dispatch.id)).case_no == "N4"
        assert await uow.dispatches.get(cases[1].dispatch.id) is None
        assert [e.cause for e in await uow.dispatches.events(cases[0].dispatch.id)] == ["intake"]
        assert await uow.dispatches.events(cases[1].dispatch.id) == []
        jobs = {j["payload"]["dispatch_id"]: j for j in await uow.jobs.list_jobs("pending")}
    assert sorted(jobs) == sorted([cases[0].dispatch.id, cases[3].dispatch.id])
    last = jobs[cases[3].dispatch.id]
    assert (last["kind"], last["run_after"], last["max_attempts"]) == ("book", later, 3)
