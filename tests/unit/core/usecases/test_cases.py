"""A case's progress (`service.cases`) and the citizen's whole case (`service.citizen`), on the fake unit
of work: stages stored once per (client, case, stage, time), the applicant's phone and the matter
required first and carried on, and the citizen's one answer from the first stage to the parcels."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from logistics.domain.case_progress import Stage
from logistics.domain.errors import Conflict, InvalidInput
from logistics.domain.model import AuditEvent, DeliveryMethod, Direction
from logistics.service import citizen
from logistics.service.cases import CaseEventRequest, record_case_event
from tests.fakes import fake_world
from tests.fakes.tracking import FakeCitizenLookup
from tests.fixtures.dispatches import NOW

from .kit import S, given

PHONE = "13807961234"
T0 = NOW - timedelta(days=3)


def posted(stage: Stage, hours: int = 0, *, case_no="AF-1", client_id="approval", first=False, **over):
    fields = dict(
        hall="default", client_id=client_id, case_no=case_no, stage=stage, at=T0 + timedelta(hours=hours),
        note="", matter_name="食品经营许可证核发" if first else None,
        applicant_phone=PHONE if first else None, request_hash=f"h-{stage}-{hours}", now=NOW,
    )  # fmt: skip
    return CaseEventRequest(**{**fields, **over})


async def post_all(world, case_no="AF-1", client_id="approval", stages=(Stage.REGISTERED, Stage.ACCEPTED)):
    for i, stage in enumerate(stages):
        await record_case_event(
            world.uow(), posted(stage, 5 * i, case_no=case_no, client_id=client_id, first=i == 0)
        )


async def track(world, case_no="AF-1", last4="1234", waybill_no=""):
    return await citizen.find(
        FakeCitizenLookup(world.uow), phone_last4=last4, case_no=case_no, waybill_no=waybill_no
    )


async def test_a_stage_is_stored_once_and_a_repeat_replays_the_first_answer():
    world = fake_world()
    first = await record_case_event(world.uow(), posted(Stage.REGISTERED, first=True, note="材料齐全"))
    again = await record_case_event(world.uow(), posted(Stage.REGISTERED, first=True, note="材料齐全"))
    assert first.created and not again.created and again.response == first.response
    assert first.response["stage_text"] == "登记" and first.response["description"] == "申请已登记：材料齐全"
    assert PHONE not in str(first.response)
    assert len(world.store.tables.case_events) == 1


async def test_other_content_for_the_same_stage_and_time_is_a_conflict_and_writes_nothing():
    world = fake_world()
    await record_case_event(world.uow(), posted(Stage.REGISTERED, first=True))
    with pytest.raises(Conflict):
        await record_case_event(world.uow(), posted(Stage.REGISTERED, first=True, request_hash="other"))
    assert len(world.store.tables.case_events) == 1


async def test_the_first_event_names_what_it_lacks_and_later_ones_carry_the_case_on():
    world = fake_world()
    with pytest.raises(InvalidInput) as refused:
        await record_case_event(world.uow(), posted(Stage.REGISTERED))
    assert [f for f, _ in refused.value.errors] == ["applicant_phone", "matter_name"]
    assert world.store.tables.case_events == {}
    await post_all(world, stages=(Stage.REGISTERED, Stage.ACCEPTED, Stage.REVIEWING))
    async with world.uow(read_only=True) as uow:
        stored = await uow.cases.of_case("approval", "AF-1")
    assert [e.stage for e in stored] == [Stage.REGISTERED, Stage.ACCEPTED, Stage.REVIEWING]
    assert {(e.applicant_phone, e.matter_name) for e in stored} == {(PHONE, "食品经营许可证核发")}


async def test_a_client_bound_to_a_hall_cannot_write_another_halls_case():
    world = fake_world()
    with pytest.raises(PermissionError):
        await record_case_event(world.uow.for_hall("YX")(), posted(Stage.REGISTERED, first=True))


async def test_the_citizen_follows_the_case_before_any_parcel():
    world = fake_world()
    await post_all(world, stages=(Stage.REGISTERED, Stage.ACCEPTED, Stage.SITE_INSPECTION))
    found = await track(world)
    assert found["status"] == "site_inspection" and found["status_text"] == "现场勘察中"
    assert (found["waybill_no"], found["events"], found["parcels"]) == (None, [], [])
    assert [e["stage"] for e in found["case_events"]] == ["registered", "accepted", "site_inspection"]
    assert [e["description"] for e in found["case_events"]] == ["申请已登记", "申请已受理", "现场勘察中"]
    assert found["case_events"][0]["time"] == T0.astimezone(citizen.CHINA).isoformat(timespec="seconds")
    assert await track(world, last4="9999") is None
    assert await track(world, case_no="AF-2") is None


async def test_after_dispatch_the_answer_is_the_outbound_parcel_with_the_case_stages():
    world = fake_world()
    await post_all(world)
    d = await given(world, S.IN_TRANSIT)
    found = await track(world)
    assert (found["status"], found["waybill_no"]) == ("in_transit", d.waybill_no)
    assert [e["stage"] for e in found["case_events"]] == ["registered", "accepted"]
    assert [p["direction"] for p in found["parcels"]] == ["outbound"]
    by_waybill = await track(world, case_no="", waybill_no=d.waybill_no)
    assert by_waybill["case_events"] == found["case_events"]


async def test_both_directions_are_shown_the_outbound_on_top():
    world = fake_world()
    inbound = await given(world, S.IN_TRANSIT, direction=Direction.INBOUND)
    await given(world, S.RECEIVED)
    found = await track(world)
    assert found["status"] == "received" and found["waybill_no"] is None  # the result, not yet booked
    parcels = {p["direction"]: p for p in found["parcels"]}
    assert {d: p["direction_text"] for d, p in parcels.items()} == {
        "inbound": "材料收取",
        "outbound": "证照寄送",
    }
    assert (parcels["inbound"]["status"], parcels["inbound"]["waybill_no"]) == (
        "in_transit",
        inbound.waybill_no,
    )
    assert "13807961234" not in str(found) and "王小明" not in str(found)


async def test_a_counter_pickup_shows_its_own_steps():
    world = fake_world()
    d = await given(world, S.AWAITING_PICKUP, delivery_method=DeliveryMethod.PICKUP)
    async with world.uow() as uow:
        after, event = d.moved(S.PICKED_UP, at=NOW, actor="staff:li", cause="picked_up")
        assert await uow.dispatches.save_move(d, after, event)
    found = await track(world)
    assert [(e["status"], e["location"]) for e in found["events"]] == [
        ("picked_up", "政务服务大厅窗口"),
        ("awaiting_pickup", "政务服务大厅窗口"),
    ]
    assert found["events"][1]["description"].startswith("待取件")


async def test_another_clients_case_of_the_same_number_is_another_case():
    world = fake_world()
    await post_all(world, client_id="other-county")
    await given(
        world, S.RECEIVED, recipient=replace((await given(world, case_no="X")).recipient, phone="13900005678")
    )
    found = await track(world)
    assert found["parcels"] == []  # the approval client's dispatch is for another phone
    assert {e["stage"] for e in found["case_events"]} == {"registered", "accepted"}
    mine = await track(world, last4="5678")
    assert [p["direction"] for p in mine["parcels"]] == ["outbound"] and mine["case_events"] == []


async def test_a_stage_note_never_shows_a_phone_number_or_the_recipients_name():
    world = fake_world()
    await record_case_event(world.uow(), posted(Stage.REGISTERED, first=True, note="王小明 13807961234 来电"))
    await given(world, S.RECEIVED)
    found = await track(world)
    (stage,) = found["case_events"]
    assert stage["description"] == "申请已登记：王*明 138******34 来电"


async def test_a_village_point_pickup_shows_its_steps_after_the_carriers_scans():
    world = fake_world()
    d = await given(
        world, S.IN_TRANSIT, delivery_method=DeliveryMethod.VILLAGE_POINT, village_point_code="VP01"
    )
    async with world.uow() as uow:  # the point received it (the move the village points' work records)
        event = AuditEvent(NOW, "staff:li", "village point received", S.IN_TRANSIT, S.AWAITING_PICKUP)
        await uow.dispatches.add_event(d.id, event)
    found = await track(world)
    (step,) = found["events"]
    assert (step["status"], step["location"]) == ("awaiting_pickup", "村级代办点")
    assert step["description"] == "待取件：已到村级代办点，请凭取件码领取"
