"""The statistics repository on the fake, SQLite and PostgreSQL: the same counts from the same rows
(the scenario and its hand-worked figures: tests/fixtures/statistics_world.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from logistics.domain.status import Status as S
from logistics.ports.repositories.statistics import Count, DaysCount, HoursCount
from logistics.service.views import dispatch_json
from tests.fixtures.dispatches import make_dispatch
from tests.fixtures.statistics_world import NOW, cst, store_runs, store_scenario

OCT = (cst(10, 1), cst(11, 1))
OCT_NOV = (cst(10, 1), cst(12, 1))


async def test_mailed_by_each_dimension(new_uow):
    await store_scenario(new_uow)
    async with new_uow(read_only=True) as uow:
        s = uow.statistics
        assert await s.mailed("month", *OCT_NOV) == [
            Count("2026-10", "2026-10", 2),
            Count("2026-11", "2026-11", 1),
        ]
        assert await s.mailed("month", *OCT) == [Count("2026-10", "2026-10", 2)]
        assert {(c.key, c.count) for c in await s.mailed("town", *OCT_NOV)} == {("洲湖镇", 2), ("平都镇", 1)}
        assert (await s.mailed("town", *OCT_NOV))[0] == Count("洲湖镇", "洲湖镇", 2)  # most first
        assert await s.mailed("village_point", *OCT_NOV) == [Count("VP01", "VP01", 1)]
        assert await s.mailed("department", *OCT) == [Count("SCJGJ", "安福县市场监督管理局", 2)]
        assert set(await s.mailed("matter", *OCT_NOV)) == {
            Count("M1", "食品经营许可证核发", 1), Count("M2", "营业执照", 1), Count("M3", "不动产权证书", 1),
        }  # fmt: skip
        assert await s.mailed("department", cst(12, 1), cst(12, 31)) == []


async def test_stage_times_in_hours_and_days(new_uow):
    await store_scenario(new_uow)
    async with new_uow(read_only=True) as uow:
        s = uow.statistics
        assert sorted(await s.stage_hours("delivery", *OCT_NOV), key=lambda h: h.hours) == [
            HoursCount("SCJGJ", "M1", 48, 1),
            HoursCount("SCJGJ", "M1", 118, 1),
            HoursCount("SCJGJ", "M2", 162, 1),
        ]
        assert sorted(await s.stage_hours("handover", *OCT_NOV), key=lambda h: h.hours) == [
            HoursCount("SCJGJ", "M1", 6, 1), HoursCount("GTJ", "M3", 35, 1), HoursCount("SCJGJ", "M2", 66, 1),
        ]  # fmt: skip
        assert sorted(await s.stage_days("delivery", *OCT), key=lambda x: x.completed_on) == [
            DaysCount("SCJGJ", "M1", date(2026, 10, 5), date(2026, 10, 7), 1),
            DaysCount("SCJGJ", "M2", date(2026, 10, 9), date(2026, 10, 16), 1),
            DaysCount("SCJGJ", "M1", date(2026, 10, 10), date(2026, 10, 15), 1),
        ]
        assert sorted(await s.stage_days("handover", *OCT), key=lambda x: x.completed_on) == [
            DaysCount("SCJGJ", "M1", date(2026, 10, 5), date(2026, 10, 5), 1),
            DaysCount("SCJGJ", "M2", date(2026, 10, 9), date(2026, 10, 12), 1),
        ]


async def test_part_hours_round_up_and_days_are_china_days(new_uow):
    """Completed 2 h 30 min before its handover counts 3 h; a completion time sent in UTC (23:30 on
    11-30) is the China day 12-01."""
    d = make_dispatch("X", completed_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC), matter_code="M9")
    async with new_uow() as uow:
        assert await uow.dispatches.insert_new(d, request_hash="h", response=dispatch_json(d))
        for to, at in ((S.BOOKING, 1), (S.BOOKED, 2), (S.HANDED_OVER, 2.5)):
            after, event = d.moved(to, at=d.completed_at + timedelta(hours=at), actor="t", cause="setup")
            assert await uow.dispatches.save_move(d, after, event)
            d = after
    async with new_uow(read_only=True) as uow:
        assert await uow.statistics.stage_hours("handover", cst(12, 1), cst(12, 31)) == [
            HoursCount("SCJGJ", "M9", 3, 1)
        ]
        assert await uow.statistics.stage_days("handover", cst(12, 1), cst(12, 31)) == [
            DaysCount("SCJGJ", "M9", date(2026, 12, 1), date(2026, 12, 1), 1)
        ]
        assert await uow.statistics.mailed("month", cst(11, 1), cst(12, 31)) == [
            Count("2026-12", "2026-12", 1)
        ]


async def test_names(new_uow):
    await store_scenario(new_uow)
    async with new_uow(read_only=True) as uow:
        departments, matters = await uow.statistics.names()
    assert departments == {"SCJGJ": "安福县市场监督管理局", "GTJ": "安福县自然资源局"}
    assert matters == {"M1": "食品经营许可证核发", "M2": "营业执照", "M3": "不动产权证书"}


async def test_slow_items_are_the_candidates_over_the_bound(new_uow):
    ids = await store_scenario(new_uow)
    async with new_uow(read_only=True) as uow:
        s = uow.statistics
        handover = await s.slow_items("handover", *OCT, over_hours=24, now=NOW)
        delivery = await s.slow_items("delivery", *OCT, over_hours=72, now=NOW)
        late_only = await s.slow_items("delivery", *OCT, over_hours=150, now=cst(10, 21))
    assert {i.case_no for i in handover} == {"B", "C", "D"}  # A took 6 h, E was cancelled, F no handover
    by_case = {i.case_no: i for i in handover}
    assert by_case["D"].done_at is None and by_case["D"].status == "label_printed"
    assert by_case["B"].done_at == cst(10, 12, 9) and by_case["B"].completed_at == cst(10, 9, 15)
    assert by_case["B"].department_name == "安福县市场监督管理局" and by_case["B"].matter_code == "M2"
    assert by_case["B"].dispatch_id == ids["B"]
    assert {i.case_no for i in delivery} == {"B", "C", "D", "F"}
    assert {i.case_no for i in late_only} == {"B"}  # at 10-21, D open only 24 h; B took 162 h


async def test_department_costs_from_the_frozen_or_newest_run(new_uow):
    await store_runs(new_uow)
    async with new_uow(read_only=True) as uow:
        costs = await uow.statistics.department_costs(["2026-09", "2026-10", "2026-11"])
        assert await uow.statistics.department_costs([]) == {}
    assert costs == {"2026-10": {"SCJGJ": 2300, "GTJ": 1200}, "2026-11": {"GTJ": 1500, "SCJGJ": 100}}


async def test_only_the_first_move_into_a_stage_counts(new_uow):
    """Handed over on 11-30 and delivered (also a status after handover) on 12-01: mailed in November only;
    in December it is a delivery, and the late candidates since December hold it as delivered."""
    d = make_dispatch("Y", completed_at=cst(11, 30, 9))
    async with new_uow() as uow:
        assert await uow.dispatches.insert_new(d, request_hash="h", response=dispatch_json(d))
        for to, at in ((S.BOOKING, cst(11, 30, 10)), (S.BOOKED, cst(11, 30, 11)),
                       (S.HANDED_OVER, cst(11, 30, 23)), (S.DELIVERED, cst(12, 1, 9))):  # fmt: skip
            after, event = d.moved(to, at=at, actor="t", cause="setup")
            assert await uow.dispatches.save_move(d, after, event)
            d = after
    async with new_uow(read_only=True) as uow:
        s = uow.statistics
        assert await s.mailed("month", cst(11, 1), cst(12, 31)) == [Count("2026-11", "2026-11", 1)]
        assert await s.mailed("month", cst(12, 1), cst(12, 31)) == []
        assert await s.stage_hours("handover", cst(12, 1), cst(12, 31)) == []
        assert [h.hours for h in await s.stage_hours("delivery", cst(12, 1), cst(12, 31))] == [24]
        late = await s.slow_items("handover", cst(11, 1), cst(12, 1), over_hours=10, now=cst(12, 5))
        assert [(i.case_no, i.done_at) for i in late] == [("Y", cst(11, 30, 23))]
        open_ = await s.slow_items("delivery", cst(11, 1), cst(12, 1), over_hours=10, now=cst(12, 5))
        assert [(i.case_no, i.done_at) for i in open_] == [("Y", cst(12, 1, 9))]


async def test_a_completion_time_with_any_offset_python_allows(new_uow):
    """+21:32 is a valid ISO offset that PostgreSQL's timestamptz refuses (past ±15:59): still counted."""
    far = timezone(timedelta(hours=21, minutes=32))
    d = make_dispatch("Z", completed_at=datetime(2026, 12, 2, 5, 0, tzinfo=far))  # 12-01 07:28 UTC
    async with new_uow() as uow:
        assert await uow.dispatches.insert_new(d, request_hash="h", response=dispatch_json(d))
        for to, at in ((S.BOOKING, 1), (S.BOOKED, 2), (S.HANDED_OVER, 3)):
            after, event = d.moved(to, at=d.completed_at + timedelta(hours=at), actor="t", cause="setup")
            assert await uow.dispatches.save_move(d, after, event)
            d = after
    async with new_uow(read_only=True) as uow:
        s = uow.statistics
        assert [h.hours for h in await s.stage_hours("handover", cst(12, 1), cst(12, 31))] == [3]
        days = await s.stage_days("handover", cst(12, 1), cst(12, 31))
        assert [(x.completed_on, x.done_on) for x in days] == [(date(2026, 12, 1), date(2026, 12, 1))]
        late = await s.slow_items("delivery", cst(12, 1), cst(12, 31), over_hours=1, now=cst(12, 3))
        assert [(i.case_no, i.completed_at) for i in late] == [("Z", d.completed_at)]
