"""`uow.cases` (a case's progress) and the citizen's read of a whole case, on the fake, SQLite and
PostgreSQL alike: stages stored once per (client, case, stage, time), kept to the hall; a case found by
its number and a phone of it, with its stages and every parcel of either direction."""

from __future__ import annotations

from datetime import timedelta

from logistics.domain.case_progress import CaseEvent, Stage
from logistics.domain.model import DeliveryMethod, Direction, Party
from logistics.domain.status import Status
from tests.fixtures.dispatches import NOW, make_dispatch

from .conftest import stored

PHONE = "13807961234"


def event(stage: Stage, hours: int, *, case_no="CE-1", client_id="approval", hall="default", phone=PHONE):
    return CaseEvent(
        hall, client_id, case_no, stage, NOW + timedelta(hours=hours), f"note {stage}", "食品经营许可证核发",
        phone, f"h-{stage}-{hours}", NOW,
    )  # fmt: skip


async def posted(new_uow, *events: CaseEvent) -> list[bool]:
    async with new_uow() as uow:
        return [await uow.cases.insert(e) for e in events]


async def test_a_stage_at_one_time_is_stored_once_and_read_in_time_order(new_uow):
    late, early = event(Stage.ACCEPTED, 5), event(Stage.REGISTERED, 0)
    assert await posted(new_uow, late, early, event(Stage.ACCEPTED, 5)) == [True, True, False]
    assert (
        await posted(new_uow, event(Stage.ACCEPTED, 6), event(Stage.ACCEPTED, 5, client_id="b")) == [True] * 2
    )
    async with new_uow(read_only=True) as uow:
        found = await uow.cases.of_case("approval", "CE-1")
        assert await uow.cases.find("approval", "CE-1", "accepted", NOW + timedelta(hours=5)) == late
        assert await uow.cases.find("approval", "CE-1", "accepted", NOW) is None
        assert await uow.cases.of_case("approval", "CE-9") == []
    assert [(e.stage, e.at - NOW) for e in found] == [
        (Stage.REGISTERED, timedelta(0)),
        (Stage.ACCEPTED, timedelta(hours=5)),
        (Stage.ACCEPTED, timedelta(hours=6)),
    ]
    assert found[0] == early


async def test_a_scoped_unit_of_work_keeps_to_its_halls_cases(new_uow):
    await posted(new_uow, event(Stage.REGISTERED, 0, hall="YX"))
    async with new_uow.for_hall("AF")(read_only=True) as uow:
        assert await uow.cases.of_case("approval", "CE-1") == []
        assert await uow.cases.find("approval", "CE-1", "registered", NOW) is None
    async with new_uow.for_hall("YX")(read_only=True) as uow:
        assert len(await uow.cases.of_case("approval", "CE-1")) == 1


async def test_the_citizen_finds_a_case_by_its_stages_before_any_parcel(new_uow):
    await posted(new_uow, event(Stage.REVIEWING, 9), event(Stage.REGISTERED, 0), event(Stage.ACCEPTED, 4))
    async with new_uow(read_only=True) as uow:
        found = await uow.tracking.find_case_for_citizen(phone_last4="1234", case_no="CE-1")
        assert await uow.tracking.find_case_for_citizen(phone_last4="9999", case_no="CE-1") is None
        assert await uow.tracking.find_case_for_citizen(phone_last4="1234", case_no="CE-2") is None
    assert found.parcels == []
    assert [(s.stage, s.time - NOW, s.note) for s in found.stages] == [
        ("registered", timedelta(0), "note registered"),
        ("accepted", timedelta(hours=4), "note accepted"),
        ("reviewing", timedelta(hours=9), "note reviewing"),
    ]
    assert found.stages[0].matter_name == "食品经营许可证核发"


async def test_the_citizen_sees_both_directions_of_a_case_with_its_stages(new_uow):
    await posted(new_uow, event(Stage.REGISTERED, 0), event(Stage.COMPLETED, 8))
    inbound = make_dispatch("CE-1", direction=Direction.INBOUND, created_at=NOW - timedelta(days=2))
    # the result goes to an agent: the applicant's phone still finds it, as the agent's does
    outbound = make_dispatch("CE-1", recipient=Party("李四", "13900005678"), waybill_no="1100000000013")
    other_client = make_dispatch(
        "CE-1", client_id="other", recipient=Party("赵六", "13700004321"), created_at=NOW - timedelta(days=5)
    )
    await stored(new_uow, inbound, outbound, other_client)
    async with new_uow(read_only=True) as uow:
        t = uow.tracking
        mine = await t.find_case_for_citizen(phone_last4="1234", case_no="CE-1")
        agent = await t.find_case_for_citizen(phone_last4="5678", case_no="CE-1")
        theirs = await t.find_case_for_citizen(phone_last4="4321", case_no="CE-1")
        by_waybill = await t.find_for_citizen(phone_last4="5678", waybill_no="1100000000013")
    for found in (mine, agent):
        assert [(p.direction, p.client_id) for p in found.parcels] == [
            ("outbound", "approval"),
            ("inbound", "approval"),
        ]  # the newest first
        assert [s.stage for s in found.stages] == ["registered", "completed"]
    assert [(p.client_id, p.stages) for p in theirs.parcels] == [("other", ())] and theirs.stages == []
    assert [s.stage for s in by_waybill.stages] == ["registered", "completed"]


async def test_a_pickup_parcel_brings_its_pickup_moves(new_uow):
    d = make_dispatch("CE-3", delivery_method=DeliveryMethod.PICKUP)
    await stored(new_uow, d)
    async with new_uow() as uow:
        waiting, e1 = d.moved(Status.AWAITING_PICKUP, at=NOW, actor="system", cause="self_pickup")
        assert await uow.dispatches.save_move(d, waiting, e1)
        done, e2 = waiting.moved(
            Status.PICKED_UP, at=NOW + timedelta(hours=2), actor="staff:li", cause="picked_up"
        )
        assert await uow.dispatches.save_move(waiting, done, e2)
    async with new_uow(read_only=True) as uow:
        found = await uow.tracking.find_case_for_citizen(phone_last4="1234", case_no="CE-3")
    (parcel,) = found.parcels
    assert [(s.status, s.time - NOW) for s in parcel.steps] == [
        ("awaiting_pickup", timedelta(0)),
        ("picked_up", timedelta(hours=2)),
    ]
