"""Village points and clerk access links: the SQL repository (SQLite, PostgreSQL) and the fake behave
alike, and a unit of work scoped to a hall never sees or changes another hall's points or links."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from logistics.domain.village import point_from
from tests.fixtures.dispatches import NOW

POINT = {
    "code": "P-01", "name": "严田村代办点", "town": "严田镇", "clerk_name": "李代办",
    "clerk_phone": "13907960001",
    "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "严田镇",
                "detail": "严田村村委会", "postcode": "343200"},
}  # fmt: skip


async def test_points_are_added_once_per_hall_saved_and_listed(new_uow):
    af, yx = point_from(POINT, hall="AF", now=NOW), point_from(POINT, hall="YX", now=NOW)
    async with new_uow() as uow:
        assert await uow.village_points.add(af) and await uow.village_points.add(yx)
        assert not await uow.village_points.add(af)
    async with new_uow() as uow:
        assert await uow.village_points.get("AF", "P-01") == af
        assert await uow.village_points.save(
            replace(af, name="新名", active=False, updated_at=NOW + timedelta(1))
        )
        assert not await uow.village_points.save(replace(af, code="P-99"))
    async with new_uow(read_only=True) as uow:
        got = await uow.village_points.get("AF", "P-01")
        assert (got.name, got.active, got.created_at) == ("新名", False, NOW)
        assert [(p.hall, p.code) for p in await uow.village_points.list()] == [("AF", "P-01"), ("YX", "P-01")]
        assert [p.hall for p in await uow.village_points.list("YX")] == ["YX"]
        assert set(await uow.village_points.get_many({("AF", "P-01"), ("AF", "NO")})) == {("AF", "P-01")}
    async with new_uow.for_hall("YX")() as uow:
        assert await uow.village_points.get("AF", "P-01") is None
        assert [p.hall for p in await uow.village_points.list()] == ["YX"]
        assert await uow.village_points.list("AF") == []
        assert not await uow.village_points.save(af)
        with pytest.raises(PermissionError):
            await uow.village_points.add(replace(af, code="P-02"))


async def test_access_links_are_found_by_digest_revoked_once_and_count_failures(new_uow):
    async with new_uow() as uow:
        await uow.village_points.add(point_from(POINT, hall="AF", now=NOW))
        first = await uow.village_points.add_access("AF", "P-01", token_hash="a" * 64, now=NOW, by="s")
        second = await uow.village_points.add_access("AF", "P-01", token_hash="b" * 64, now=NOW, by="s")
    async with new_uow() as uow:
        assert [a.id for a in await uow.village_points.accesses("AF", "P-01")] == [second, first]
        assert (await uow.village_points.access_by_hash("a" * 64)).id == first
        assert await uow.village_points.access_by_hash("c" * 64) is None
        assert await uow.village_points.revoke_access("AF", "P-01", first, now=NOW, by="s")
        assert not await uow.village_points.revoke_access("AF", "P-01", first, now=NOW, by="s")
        assert not await uow.village_points.revoke_access("AF", "P-02", second, now=NOW, by="s")
        start = NOW - timedelta(minutes=30)
        assert await uow.village_points.access_failed(second, now=NOW, window_start=start) == 1
        assert await uow.village_points.access_failed(second, now=NOW, window_start=start) == 2
        later = NOW + timedelta(hours=1)
        assert (
            await uow.village_points.access_failed(second, now=later, window_start=later - timedelta(30)) == 3
        )
        assert (
            await uow.village_points.access_failed(second, now=later, window_start=later) == 1
        )  # a new window
        await uow.village_points.access_used(second, now=later)
    async with new_uow.for_hall("YX")() as uow:
        assert await uow.village_points.access_by_hash("b" * 64) is None
        assert await uow.village_points.accesses("AF", "P-01") == []
        assert not await uow.village_points.revoke_access("AF", "P-01", second, now=NOW, by="yx")
    async with new_uow(read_only=True) as uow:
        revoked, live = [await uow.village_points.access_by_hash(h * 64) for h in "ab"]
        assert revoked.revoked_at == NOW and live.revoked_at is None and live.last_used_at == later


async def test_each_points_parcels_are_counted_and_listed_by_status_in_scope(new_uow):
    from logistics.domain.model import DeliveryMethod
    from tests.fixtures.dispatches import make_dispatch

    from .conftest import stored

    village = {"delivery_method": DeliveryMethod.VILLAGE_POINT}
    a = make_dispatch("A1", hall="AF", village_point_code="P-01", created_at=NOW, **village)
    b = make_dispatch("A2", hall="AF", village_point_code="P-01", created_at=NOW + timedelta(1), **village)
    c = make_dispatch("Y1", hall="YX", client_id="c-yx", village_point_code="P-01", **village)
    await stored(new_uow, b, a, c, make_dispatch("M1", hall="AF"))
    async with new_uow(read_only=True) as uow:
        assert await uow.village_points.parcel_counts() == {
            ("AF", "P-01", "received"): 2,
            ("YX", "P-01", "received"): 1,
        }
        assert await uow.village_points.parcel_counts("YX") == {("YX", "P-01", "received"): 1}
        assert [x.case_no for x in await uow.village_points.parcels("AF", "P-01")] == ["A1", "A2"]
        assert await uow.village_points.parcels("AF", "P-01", ["awaiting_pickup"]) == []
        assert await uow.village_points.parcels("AF", "P-02") == []
    async with new_uow.for_hall("YX")(read_only=True) as uow:
        assert await uow.village_points.parcel_counts() == {("YX", "P-01", "received"): 1}
        assert await uow.village_points.parcels("AF", "P-01") == []
