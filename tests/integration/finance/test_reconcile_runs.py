"""Reconciliation runs on a real database (SQLite file, and PostgreSQL when configured)."""

import asyncio
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from logistics import reconcile_engine
from logistics.config import SAMPLE_HALL
from logistics.domain.errors import Conflict, InvalidInput
from logistics.domain.model import Address
from logistics.service import reconcile_runs
from logistics.service.reconcile_runs import Upload
from logistics.storage.finance_tables import reconciliation_runs
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.fixtures.dispatches import NOW

from .kit import line, statement, stored

RECONCILE = reconcile_engine.bind(SAMPLE_HALL)
TARIFF = (
    'effective_from = "2026-01-01"\nweight_step_g = 500\n[[zones]]\nname = "national"\n'
    "first_weight_g = 500\nfirst_fen = 900\nstep_fen = 200\n"
)


def reading(engine):
    return unit_of_work_factory(engine)(read_only=True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def submit(engine, content: bytes, period="2026-10", tariff=None, actor="zhang"):
    upload = Upload(period, "statement.csv", content, tariff)
    return await reconcile_runs.submit(unit_of_work_factory(engine), upload, RECONCILE, actor=actor, now=NOW)


async def run_count(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(reconciliation_runs))


# ---- our shipments, as the engine sees them -------------------------------------------------------


async def test_shipments_come_from_stored_dispatches_with_acceptance_in_china_time(engine):
    # the 203 scan wins over the hall's handover move; 17:30 UTC on 31 Oct is 1 Nov in China
    scanned = await stored(
        engine, handed_over_at=at("2026-10-31T09:00:00+08:00"), scan_at=at("2026-11-01T01:30:00+08:00")
    )
    moved = await stored(engine, handed_over_at=at("2026-10-05T23:59:00+08:00"), weight_g=1200)
    booked_only = await stored(
        engine, declared_value_fen=5000, department_code="ZRZYJ", department_name="安福县自然资源局"
    )
    cancelled = await stored(engine, cancelled=True)
    far = await stored(
        engine,
        handed_over_at=NOW,
        address=Address("广东省", "广州市", "天河区", "天河路1号", "510000", "石牌街道"),
    )
    await stored(engine, booked=False)  # no waybill: never shipped

    shipments = {s.waybill_no: s for s in await reconcile_runs.load_shipments(reading(engine))}

    assert set(shipments) == {d.waybill_no for d in (scanned, moved, booked_only, cancelled, far)}
    assert shipments[scanned.waybill_no].accepted_on == date(2026, 11, 1)
    assert shipments[moved.waybill_no].accepted_on == date(2026, 10, 5)
    assert shipments[moved.waybill_no].weight_g == 1200
    assert shipments[booked_only.waybill_no].accepted_on is None
    only = shipments[booked_only.waybill_no]
    assert (only.department_code, only.weight_g, only.declared_value_fen) == ("ZRZYJ", 200, 5000)
    assert (only.department_name, shipments[moved.waybill_no].department_name) == (
        "安福县自然资源局",
        "安福县市场监督管理局",
    )
    assert shipments[cancelled.waybill_no].cancelled is True
    assert not shipments[scanned.waybill_no].cancelled
    far_away = shipments[far.waybill_no]
    assert (far_away.province, far_away.city, far_away.county) == ("广东省", "广州市", "天河区")


async def test_a_run_judges_the_statement_against_stored_shipments(engine):
    ok = await stored(engine, handed_over_at=at("2026-10-05T10:00:00+08:00"))
    over = await stored(engine, handed_over_at=at("2026-10-06T10:00:00+08:00"), department_code="ZRZYJ")
    unbilled = await stored(engine, scan_at=at("2026-10-07T10:00:00+08:00"))
    later = await stored(engine, handed_over_at=at("2026-11-01T00:30:00+08:00"))  # not this month
    cancelled = await stored(engine, cancelled=True)
    content = statement(
        line(ok.waybill_no, "2026-10-05"),
        line(over.waybill_no, "2026-10-06", total="9.50"),
        line(cancelled.waybill_no, "2026-10-08"),
        line("1199999999999", "2026-10-09"),
    )

    run, created = await submit(engine, content)

    assert created and run["period"] == "2026-10" and run["created_by"] == "zhang"
    result = json.loads(await reconcile_runs.result_json(reading(engine), run["id"]))
    codes = {f["waybill_no"]: f["code"] for f in result["findings"]}
    assert codes == {
        ok.waybill_no: "ok",
        over.waybill_no: "overcharged",
        cancelled.waybill_no: "cancelled_but_billed",
        "1199999999999": "unknown_waybill",
        unbilled.waybill_no: "not_billed",
    }
    assert later.waybill_no not in codes
    assert result["totals"]["billed_fen"] == run["totals"]["billed_fen"] == 800 + 950 + 800 + 800
    assert run["disputes"] == 3 and "findings" not in run
    assert {d["department_code"] for d in run["departments"]} == {"SCJGJ", "ZRZYJ", "UNKNOWN"}


# ---- one run per file and month -------------------------------------------------------------------


async def test_the_same_file_for_the_same_month_is_one_run(engine):
    d = await stored(engine, handed_over_at=at("2026-10-05T10:00:00+08:00"))
    content = statement(line(d.waybill_no, "2026-10-05"))
    first, created = await submit(engine, content)
    again, created_again = await submit(engine, content, actor="wang")
    together = await asyncio.gather(*(submit(engine, content) for _ in range(4)))

    assert created and not created_again
    assert again == first and all(r == first and not c for r, c in together)
    assert again["created_by"] == "zhang"
    assert await run_count(engine) == 1

    other_month, created = await submit(engine, content, period="2026-11")
    other_tariff, created_too = await submit(engine, content, tariff=TARIFF)
    assert created and created_too and len({first["id"], other_month["id"], other_tariff["id"]}) == 3
    listed = await reconcile_runs.list_runs(reading(engine), "2026-10")
    assert {r["id"] for r in listed} == {first["id"], other_tariff["id"]}
    findings = json.loads(await reconcile_runs.result_json(reading(engine), other_tariff["id"]))["findings"]
    assert [f["code"] for f in findings] == ["undercharged"]  # 9.00 by that tariff, billed 8.00


async def test_concurrent_first_uploads_store_one_run(engine):
    d = await stored(engine, handed_over_at=at("2026-10-05T10:00:00+08:00"))
    content = statement(line(d.waybill_no, "2026-10-05"), title="并发")
    results = await asyncio.gather(*(submit(engine, content) for _ in range(5)))
    assert len({r["id"] for r, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert await run_count(engine) == 1


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (statement("1180000000001,2026-10-05,江西省,吉安市,安福县,500,八元,0.00,0.00,8.00"), "第 3 行"),
        (b"\xff\xfe\x00garbage", None),
        ("邮件号,收寄日期\n1,2".encode(), "statement"),
    ],
)
async def test_a_bad_file_is_invalid_input_naming_where_and_stores_nothing(engine, content, field):
    with pytest.raises(InvalidInput) as e:
        await submit(engine, content)
    if field:
        assert e.value.errors[0][0].startswith(field)
    assert await run_count(engine) == 0


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "10/2026", ""])
async def test_a_bad_period_is_invalid_input(engine, period):
    with pytest.raises(InvalidInput) as e:
        await submit(engine, statement(line("1", "2026-10-05")), period=period)
    assert e.value.errors[0][0] == "period"


async def test_a_bad_tariff_names_its_key(engine):
    with pytest.raises(InvalidInput) as e:
        await submit(engine, statement(line("1180000000001", "2026-10-05")), tariff="weight_step_g = -1\n")
    assert e.value.errors
    assert await run_count(engine) == 0


# ---- closing a month ------------------------------------------------------------------------------


async def test_closing_freezes_the_month(engine):
    d = await stored(engine, handed_over_at=at("2026-10-05T10:00:00+08:00"))
    first, _ = await submit(engine, statement(line(d.waybill_no, "2026-10-05"), title="第一版"))
    revised = statement(line(d.waybill_no, "2026-10-05", total="9.00"), title="第二版")
    second, _ = await submit(engine, revised)
    assert (await reconcile_runs.period_status(reading(engine), "2026-10"))["status"] == "open"

    closed = await reconcile_runs.close_period(
        unit_of_work_factory(engine), "2026-10", first["id"], actor="zhang", now=NOW
    )

    assert closed["status"] == "closed" and closed["run_id"] == first["id"]
    assert closed["closed_by"] == "zhang" and closed["closed_at"].endswith("+08:00")
    assert closed["frozen"]["totals"] == first["totals"] and len(closed["runs"]) == 2
    with pytest.raises(Conflict):
        await submit(engine, statement(line(d.waybill_no, "2026-10-05"), title="第三版"))
    with pytest.raises(Conflict):
        await reconcile_runs.close_period(
            unit_of_work_factory(engine), "2026-10", second["id"], actor="wang", now=NOW
        )
    again = await reconcile_runs.close_period(
        unit_of_work_factory(engine), "2026-10", first["id"], actor="wang", now=NOW
    )
    assert again["closed_by"] == "zhang"
    # the frozen run is still served; re-uploading its file returns it, not a new run
    same, created = await submit(engine, statement(line(d.waybill_no, "2026-10-05"), title="第一版"))
    assert same["id"] == first["id"] and not created
    assert await run_count(engine) == 2
    # other months stay open
    _, created = await submit(engine, statement(line(d.waybill_no, "2026-10-05")), period="2026-11")
    assert created


async def test_a_month_closes_only_with_one_of_its_runs(engine):
    d = await stored(engine, handed_over_at=at("2026-10-05T10:00:00+08:00"))
    run, _ = await submit(engine, statement(line(d.waybill_no, "2026-10-05")), period="2026-11")
    for run_id in (run["id"], "no-such-run"):
        with pytest.raises(InvalidInput) as e:
            await reconcile_runs.close_period(
                unit_of_work_factory(engine), "2026-10", run_id, actor="zhang", now=NOW
            )
        assert e.value.errors[0][0] == "run_id"
    assert (await reconcile_runs.period_status(reading(engine), "2026-10"))["status"] == "open"


async def test_reports_of_a_stored_run_in_every_format(engine):
    d = await stored(engine, handed_over_at=at("2026-10-05T10:00:00+08:00"))
    run, _ = await submit(engine, statement(line(d.waybill_no, "2026-10-05", total="9.00")))
    stored_json = await reconcile_runs.result_json(reading(engine), run["id"])
    reports = {
        fmt: await reconcile_runs.report(reading(engine), run["id"], fmt, reconcile_engine.render)
        for fmt in reconcile_engine.FORMATS
    }
    assert json.loads(reports["json"]) == json.loads(stored_json)
    assert reports["pdf"].startswith(b"%PDF") and reports["xlsx"].startswith(b"PK\x03\x04")
    assert d.waybill_no in reports["csv"].decode("utf-8-sig")
    # rebuilt from the stored JSON, the result renders exactly as the original would
    rebuilt = reconcile_engine.result_from_json(stored_json)
    assert json.loads(reconcile_engine.write_report(rebuilt, "json")) == json.loads(stored_json)
