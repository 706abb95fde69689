"""Statistics and supervision on the fake unit of work: medians, p90, on-time rates and breaches against
service limits with department and matter overrides (tests/fixtures/statistics_world.py works the
figures out by hand)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from logistics.domain.china_time import CHINA
from logistics.domain.errors import InvalidInput
from logistics.domain.service_limits import Limit, ServiceLimits
from logistics.service import statistics, supervision
from logistics.service.statistics import Times, month_range
from tests.fakes import FakeUnitOfWorkFactory
from tests.fixtures.statistics_world import LIMITS, NOW, cst, store_runs, store_scenario

LIMITS_ = ServiceLimits.parse(LIMITS)


@pytest.fixture
async def world():
    new_uow = FakeUnitOfWorkFactory()
    await store_scenario(new_uow)
    await store_runs(new_uow)
    return new_uow


async def test_october_figures(world):
    s = await statistics.build(world(read_only=True), month_range("2026-10", None, today=date(2026, 11, 5)),
                               limits=LIMITS_)  # fmt: skip
    assert [(c.key, c.count) for c in s.by_month] == [("2026-10", 2)]
    assert s.mailed == 2
    assert [(c.key, c.count) for c in s.by_village_point] == [("VP01", 1)]
    # delivery: 48 h, 118 h, 162 h; A on time (3 working days: by 10-08), F late (by 10-14, picked up
    # 10-15), B on time by its matter's 170 h (its department's 3 days alone would make it late)
    assert s.delivery == Times(3, 118 / 24, 162 / 24, 2)
    assert s.delivery.on_time_rate == pytest.approx(2 / 3)
    # handover: 6 h (A, by the end of 10-06), 66 h (B, over its matter's 48 h though within 1 working day)
    assert s.handover == Times(2, 6 / 24, 66 / 24, 1)
    scjgj = next(r for r in s.departments if r.code == "SCJGJ")
    assert scjgj.name == "安福县市场监督管理局" and scjgj.delivery.count == 3
    m2 = next(r for r in s.matters if r.code == "M2")
    assert (m2.name, m2.handover.on_time, m2.delivery.on_time) == ("营业执照", 0, 1)
    # cost: October is closed on run r10a (the newer r10b is not the month's result)
    assert [(c.code, c.name, c.fen) for c in s.costs] == [
        ("SCJGJ", "安福县市场监督管理局", 2300), ("GTJ", "安福县自然资源局", 1200),
    ]  # fmt: skip
    assert s.cost_fen == 3500 and s.reconciled_months == ["2026-10"] and s.unreconciled_months == []


async def test_a_range_of_months_adds_them_up(world):
    chosen = month_range("2026-09", "2026-12", today=date(2026, 11, 5))
    s = await statistics.build(world(read_only=True), chosen, limits=LIMITS_)
    assert [(c.key, c.count) for c in s.by_month] == [
        ("2026-09", 0),
        ("2026-10", 2),
        ("2026-11", 1),
        ("2026-12", 0),
    ]
    assert {c.key: c.count for c in s.by_town} == {"洲湖镇": 2, "平都镇": 1}
    assert s.handover.count == 3  # C's handover (35 h, in November) too
    assert {c.code: c.fen for c in s.costs} == {"SCJGJ": 2400, "GTJ": 2700}
    assert s.unreconciled_months == ["2026-09", "2026-12"]


async def test_an_empty_month_has_no_figures(world):
    s = await statistics.build(world(read_only=True), month_range("2027-01", None, today=date(2027, 1, 9)),
                               limits=LIMITS_)  # fmt: skip
    assert s.mailed == 0 and s.delivery == Times(0, None, None, 0) and s.delivery.on_time_rate is None
    assert s.cost_fen is None and s.costs == []


def test_month_range_refuses_bad_input_by_name():
    with pytest.raises(InvalidInput) as e:
        month_range("2026-13", "2026-1", today=date(2026, 11, 5))
    assert [f for f, _ in e.value.errors] == ["from", "to"]
    with pytest.raises(InvalidInput) as e:
        month_range("2026-11", "2026-10", today=date(2026, 11, 5))
    assert e.value.errors[0][0] == "to"
    assert month_range(None, None, today=date(2026, 11, 5)).months == ["2026-11"]
    assert month_range("2025-11", "2026-02", today=date(2026, 11, 5)).months == [
        "2025-11", "2025-12", "2026-01", "2026-02",
    ]  # fmt: skip


# ---- supervision ---------------------------------------------------------------------------------


async def test_breaches_judged_against_their_own_limits(world):
    found = await supervision.find(
        world(read_only=True), start=cst(10, 1), end=cst(11, 1), limits=LIMITS_, now=NOW
    )
    got = [(b.item.case_no, b.stage, round(b.over_hours, 2), b.open) for b in found.items]
    assert got == [
        ("D", "handover", 346.0, True),  # due by the end of Wed 10-21, still not handed over
        ("D", "delivery", 202.0, True),  # 5 working days: by the end of Tue 10-27
        ("B", "handover", 18.0, False),  # its matter's 48 h (the default's 1 working day it kept)
        ("F", "delivery", 10.0, False),  # its department's 3 working days: by the end of 10-14
    ]
    assert found.total == 4 and found.open == 2 and found.pages == 1
    assert sorted(found.by_department) == [
        ("GTJ", "安福县自然资源局", 2),
        ("SCJGJ", "安福县市场监督管理局", 2),
    ]
    # C (handed over within a working day, in transit within 5) and A are no breaches; E was cancelled


async def test_breaches_filtered_and_paged(world):
    async def find(**kw):
        page = kw.pop("page", 1)
        filters = supervision.Filters(**kw)
        found = await supervision.find(
            world(read_only=True), start=cst(10, 1), end=cst(11, 1), limits=LIMITS_, now=NOW,
            filters=filters, page=page, per_page=3,
        )  # fmt: skip
        return found, [(b.item.case_no, b.stage) for b in found.items]

    assert (await find(stage="delivery"))[1] == [("D", "delivery"), ("F", "delivery")]
    assert (await find(department="SCJGJ"))[1] == [("B", "handover"), ("F", "delivery")]
    assert (await find(matter="M3", open_only=True))[1] == [("D", "handover"), ("D", "delivery")]
    second, items = await find(page=2)
    assert (second.page, second.pages, second.total, items) == (2, 2, 4, [("F", "delivery")])
    assert (await find(page=9))[0].page == 2
    with pytest.raises(InvalidInput):
        supervision.Filters(stage="lunch")


async def test_without_overrides_the_default_decides(world):
    plain = ServiceLimits.parse({"default": {"handover": "72h", "delivery": "10d"}})
    found = await supervision.find(
        world(read_only=True), start=cst(10, 1), end=cst(11, 1), limits=plain, now=NOW
    )
    # D: 72 h passed, and 10 working days by the end of 11-03; B's 66 h and F's 118 h are within
    assert [(b.item.case_no, b.stage) for b in found.items] == [("D", "handover"), ("D", "delivery")]


# ---- the limits themselves ------------------------------------------------------------------------


def test_working_day_deadlines_skip_weekends_and_holidays():
    limits = ServiceLimits.parse(
        {"holidays": ["2026-10-01", "2026-10-02", "2026-10-05"], "workdays": ["2026-10-10"]}
    )
    friday = datetime(2026, 10, 9, 15, tzinfo=CHINA)
    assert limits.deadline(Limit(1, "d"), friday) == datetime(2026, 10, 11, tzinfo=CHINA)  # Sat 10-10 works
    assert limits.deadline(Limit(2, "d"), friday) == datetime(2026, 10, 13, tzinfo=CHINA)  # then Mon 10-12
    assert limits.deadline(Limit(1, "d"), datetime(2026, 9, 30, 9, tzinfo=CHINA)) == datetime(
        2026, 10, 7, tzinfo=CHINA
    )  # 10-01, 10-02 holidays, weekend, 10-05 holiday: Tue 10-06
    assert limits.deadline(Limit(36, "h"), friday) == datetime(2026, 10, 11, 3, tzinfo=CHINA)


def test_limits_refuse_bad_settings_naming_the_key():
    for bad, key in (
        ({"default": {"delivery": "3 days"}}, "default.delivery"),
        ({"matters": {"M1": {"lunch": "1h"}}}, "matters.M1.lunch"),
        ({"holidays": ["10-01"]}, "holidays"),
        ({"defaults": {}}, "defaults"),
        ({"default": {"handover": "0h"}}, "default.handover"),
    ):
        with pytest.raises(ValueError, match=key.replace(".", r"\.")):
            ServiceLimits.parse(bad)
    limits = ServiceLimits.parse(LIMITS)
    assert limits.limit("delivery", "SCJGJ", "M2") == Limit(170, "h")  # the matter's
    assert limits.limit("handover", "SCJGJ", "M1") == Limit(1, "d")  # the default's
    assert limits.limit("delivery", "SCJGJ", "M1") == Limit(3, "d")  # the department's
    assert limits.least_hours("handover") == 24 and limits.least_hours("delivery") == 72


def test_a_midnight_deadline_reads_as_the_end_of_the_day_before():
    assert supervision.deadline_text(datetime(2026, 10, 22, tzinfo=CHINA)) == "2026-10-21 24:00"
    assert supervision.deadline_text(datetime(2026, 10, 22, 3, 30, tzinfo=CHINA)) == "2026-10-22 03:30"


async def test_a_registered_village_point_is_counted_under_its_name(world):
    from logistics.domain.village import point_from

    point = point_from(
        {"code": "VP01", "name": "严田村代办点", "town": "平都镇", "clerk_name": "李",
         "clerk_phone": "13907960001",
         "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "detail": "村委会",
                     "postcode": "343200"}},
        hall="default", now=NOW,
    )  # fmt: skip
    async with world() as uow:
        await uow.village_points.add(point)
    s = await statistics.build(world(read_only=True), month_range("2026-10", None, today=date(2026, 11, 5)),
                               limits=LIMITS_)  # fmt: skip
    assert [(c.key, c.name, c.count) for c in s.by_village_point] == [("VP01", "严田村代办点", 1)]
