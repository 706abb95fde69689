"""Halls: a unit of work scoped to one hall never returns or changes another hall's rows, on the SQL
unit of work (SQLite, PostgreSQL) and on the fake one alike; an unscoped one sees every hall."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from logistics.domain.hall import DEFAULT_HALL, Hall
from logistics.domain.model import AuditEvent, DeliveryMethod, Party
from logistics.domain.status import Status
from logistics.ports.repositories.tracking import Notice
from tests.fixtures.dispatches import NOW, make_dispatch

from .conftest import stored

S = Status
HOUR = timedelta(hours=1)
YX = Hall(
    name="永新县政务服务中心", phone="07967712345", province="江西省", city="吉安市", county="永新县",
    address="禾川镇胜利路88号", postcode="343400", code="YX",
)  # fmt: skip


async def two_halls(new_uow):
    """One booked dispatch in AF and one in YX (each with a waybill, a scan-free trail and a notice)."""
    af = make_dispatch("AF-1", hall="AF", delivery_method=DeliveryMethod.VILLAGE_POINT)
    yx = make_dispatch("YX-1", hall="YX", client_id="c-yx", delivery_method=DeliveryMethod.VILLAGE_POINT)
    await stored(new_uow, af, yx)
    booked = {}
    async with new_uow() as uow:
        for d, waybill in ((af, "1100000000013"), (yx, "1100000000027")):
            after, event = d.moved(S.BOOKED, at=NOW, actor="t", cause="booked", waybill_no=waybill)
            assert await uow.dispatches.save_move(d, after, event)
            booked[d.hall] = after
            notice = Notice(f"n-{d.hall}", "sms", "booked", d.id, f"sms:{d.id}", NOW, NOW)
            assert await uow.tracking.add_notice(notice)
    return booked["AF"], booked["YX"]


async def test_a_scoped_unit_of_work_reads_only_its_own_halls_dispatches(new_uow):
    af, yx = await two_halls(new_uow)
    async with new_uow.for_hall("AF")(read_only=True) as uow:
        assert uow.hall == "AF"
        assert (await uow.dispatches.get(af.id)).case_no == "AF-1"
        assert await uow.dispatches.get(yx.id) is None
        assert [d.id for d in await uow.dispatches.get_many([yx.id, af.id])] == [af.id]
        assert await uow.dispatches.find(waybill_no=yx.waybill_no) is None
        assert await uow.dispatches.find_by_case("c-yx", "YX-1") is None
        wanted = {("c-yx", "YX-1", "outbound"), ("approval", "AF-1", "outbound")}
        assert set(await uow.dispatches.stored_cases(wanted)) == {("approval", "AF-1", "outbound")}
        found, total = await uow.dispatches.search()
        assert ([d.id for d in found], total) == ([af.id], 1)
        assert await uow.dispatches.events(yx.id) == []
        assert len(await uow.dispatches.events(af.id)) == 1
        # the console's lists and figures, the exceptions' quiet parcels, the tracking reads
        listed, total = await uow.console.search_dispatches(statuses=None, q="")
        assert ([d.id for d in listed], total) == ([af.id], 1)
        assert (await uow.console.search_dispatches(statuses=None, q="YX-1"))[1] == 0
        assert await uow.console.count_by_status() == {"booked": 1}
        assert [d.id for d in await uow.console.village_point_dispatches()] == [af.id]
        assert await uow.console.received_since(NOW - HOUR) == 1
        assert await uow.console.moves_since(NOW - HOUR, ["booked"]) == {"booked": 1}
        assert len(await uow.console.first_moves_to("booked", NOW - HOUR)) == 1
        assert [d.id for d, _ in await uow.tracking.quiet_parcels(["booked"], NOW + HOUR)] == [af.id]
        assert set(await uow.tracking.dispatches_by_waybill([af.waybill_no, yx.waybill_no])) == {
            af.waybill_no
        }
        assert await uow.tracking.get_notice("n-YX") is None
        assert (await uow.tracking.get_notice("n-AF")).dispatch_id == af.id
    async with new_uow(read_only=True) as uow:  # unscoped: every hall
        assert uow.hall is None
        assert (await uow.dispatches.search())[1] == 2
        assert await uow.console.count_by_status() == {"booked": 2}
        assert (await uow.tracking.get_notice("n-YX")).dispatch_id == yx.id


async def test_a_scoped_unit_of_work_changes_nothing_of_another_hall(new_uow):
    _, yx = await two_halls(new_uow)
    later = NOW + HOUR
    async with new_uow.for_hall("AF")() as uow:
        printed, event = yx.moved(S.LABEL_PRINTED, at=later, actor="t", cause="printed")
        assert not await uow.dispatches.save_move(yx, printed, event)
        assert await uow.dispatches.save_moves([(yx, printed, event)]) == set()
        await uow.dispatches.save_contact(
            replace(yx, recipient=Party("换人", "13900000000"), updated_at=later)
        )
        await uow.dispatches.add_events([(yx.id, AuditEvent(later, "t", "note", S.BOOKED, S.BOOKED))])
        moved = await uow.tracking.move_dispatches(
            [yx.id], from_status="booked", to_status="in_transit", at=later
        )
        assert moved == set()
        with pytest.raises(PermissionError):
            await uow.dispatches.insert_new(make_dispatch("YX-2", hall="YX"), request_hash="h", response={})
    async with new_uow.for_hall("AF")() as uow:
        with pytest.raises(PermissionError):
            await uow.console.put_pickup_code(yx.id, code_hash="h", now=NOW, expires_at=later, by="s")
    async with new_uow.for_hall("AF")() as uow:
        with pytest.raises(PermissionError):
            await uow.console.expire_pickup_code(yx.id, now=NOW)
    async with new_uow(read_only=True) as uow:
        again = await uow.dispatches.get(yx.id)
        assert (again.status, again.recipient.name) == (S.BOOKED, yx.recipient.name)
        assert len(await uow.dispatches.events(yx.id)) == 1
        assert await uow.dispatches.find(case_no="YX-2") is None


async def test_pickup_codes_are_kept_to_the_dispatchs_hall(new_uow):
    af, yx = await two_halls(new_uow)
    async with new_uow() as uow:  # unscoped (the system) may issue codes for any hall
        for d in (af, yx):
            await uow.console.put_pickup_code(d.id, code_hash="h", now=NOW, expires_at=NOW + HOUR, by="s")
    async with new_uow.for_hall("AF")() as uow:
        assert await uow.console.pickup_code(yx.id) is None
        assert set(await uow.console.pickup_codes_for([af.id, yx.id])) == {af.id}
        assert await uow.console.reserve_pickup_attempt(yx.id, now=NOW, max_attempts=5) is None
        assert not await uow.console.use_pickup_code(yx.id, code_hash="h", now=NOW)
        assert await uow.console.reserve_pickup_attempt(af.id, now=NOW, max_attempts=5) == "h"
    async with new_uow(read_only=True) as uow:
        assert (await uow.console.pickup_code(yx.id)).attempts == 0


async def test_halls_are_added_once_and_the_default_one_always_exists(new_uow):
    async with new_uow() as uow:
        assert await uow.halls.add(YX, now=NOW)
        assert not await uow.halls.add(replace(YX, name="另一个"), now=NOW)
    async with new_uow.for_hall("YX")(read_only=True) as uow:  # halls are no hall's rows
        assert await uow.halls.get("YX") == YX
        assert await uow.halls.get("nope") is None
        listed = await uow.halls.list()
        assert [h.code for h in listed] == [DEFAULT_HALL, "YX"]
        assert (await uow.halls.get(DEFAULT_HALL)).code == DEFAULT_HALL


async def test_a_hall_lists_only_its_own_users(new_uow):
    async with new_uow() as uow:
        await uow.users.add("af-disp", "dispatcher", now=NOW, hall="AF")
        await uow.users.add("yx-disp", "dispatcher", now=NOW, hall="YX")
        await uow.users.add("root", "admin", now=NOW)
    async with new_uow(read_only=True) as uow:
        ids = {u["name"]: u["id"] for u in await uow.users.list_all()}
    async with new_uow.for_hall("AF")(read_only=True) as uow:
        assert [u["name"] for u in await uow.users.list_all()] == ["af-disp"]
        assert (await uow.users.by_name("yx-disp")).hall == "YX"  # sign-in finds every user
        assert await uow.users.get(ids["yx-disp"]) is None  # but the hall's pages act on its own only
        assert (await uow.users.get(ids["af-disp"])).hall == "AF"
    async with new_uow(read_only=True) as uow:
        assert {u["name"]: u["hall"] for u in await uow.users.list_all()} == {
            "af-disp": "AF", "root": None, "yx-disp": "YX",
        }  # fmt: skip


async def test_order_numbers_stay_unique_across_halls(new_uow):
    """Order numbers come from the dispatch id (a UUID), whatever the hall: two halls never share one."""
    af = make_dispatch("SAME-CASE", hall="AF", client_id="c-af")
    yx = make_dispatch("SAME-CASE", hall="YX", client_id="c-yx")
    assert af.order_no != yx.order_no
    await stored(new_uow, af, yx)
    clash = replace(make_dispatch("OTHER", hall="YX", client_id="c-yx"), order_no=af.order_no)
    with pytest.raises(Exception, match=r"(?i)order|unique|taken"):  # the one unique index, in any hall
        await stored(new_uow, clash)


async def test_a_halls_own_tariff_applies_from_its_month(new_uow):
    async with new_uow() as uow:
        assert await uow.halls.tariff_for("YX", "2026-10") is None  # the configured tariff
        await uow.halls.put_tariff("YX", "2026-09", "# september", now=NOW)
        await uow.halls.put_tariff("YX", "2026-11", "# november", now=NOW)
        await uow.halls.put_tariff("YX", "2026-11", "# november, corrected", now=NOW)  # replaces
    async with new_uow.for_hall("AF")(read_only=True) as uow:
        assert await uow.halls.tariff_for("YX", "2026-08") is None
        assert await uow.halls.tariff_for("YX", "2026-10") == "# september"
        assert await uow.halls.tariff_for("YX", "2027-01") == "# november, corrected"
        assert await uow.halls.tariff_for("AF", "2027-01") is None
