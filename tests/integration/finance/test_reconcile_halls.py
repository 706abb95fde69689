"""Reconciliation per hall (SQLite, and PostgreSQL when configured): a hall's statement is judged against
its own shipments only, with its own tariff for the month when it has one, and its month closes alone."""

import json
from datetime import UTC, datetime

import pytest

from logistics import reconcile_engine
from logistics.config import SAMPLE_HALL
from logistics.domain.errors import NotFound
from logistics.service import reconcile_runs
from logistics.service.reconcile_runs import Upload
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.fixtures.dispatches import NOW

from .kit import line, statement, stored

RECONCILE = reconcile_engine.bind(SAMPLE_HALL)
HANDED = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
DEARER = (
    'effective_from = "2026-01-01"\nweight_step_g = 500\n[[zones]]\nname = "national"\n'
    "first_weight_g = 500\nfirst_fen = 900\nstep_fen = 200\n"
)


async def submit(new_uow, content: bytes, period="2026-10"):
    return await reconcile_runs.submit(
        new_uow, Upload(period, "statement.csv", content), RECONCILE, actor="fin", now=NOW
    )


async def test_a_halls_statement_sees_only_its_shipments_and_its_own_tariff(engine):
    af = await stored(engine, handed_over_at=HANDED, hall="AF")
    yx = await stored(engine, handed_over_at=HANDED, hall="YX")
    new_uow = unit_of_work_factory(engine)
    async with new_uow() as uow:
        await uow.halls.put_tariff("YX", "2026-10", DEARER, now=NOW)
    content = statement(line(af.waybill_no, "2026-10-05"), line(yx.waybill_no, "2026-10-05"))

    af_run, _ = await submit(new_uow.for_hall("AF"), content)
    yx_run, _ = await submit(new_uow.for_hall("YX"), content)

    async def codes(hall, run) -> dict:
        text = await reconcile_runs.result_json(new_uow.for_hall(hall)(read_only=True), run["id"])
        return {f["waybill_no"]: f["code"] for f in json.loads(text)["findings"]}

    af_codes, yx_codes = await codes("AF", af_run), await codes("YX", yx_run)
    # each hall knows only its own parcel; the other's waybill is not ours to that hall
    assert af_codes == {af.waybill_no: "ok", yx.waybill_no: "unknown_waybill"}
    assert yx_codes == {yx.waybill_no: "undercharged", af.waybill_no: "unknown_waybill"}  # 9.00 by YX's
    assert af_run["tariff"] == "default" and yx_run["tariff"] != "default"
    # the runs and the months are each hall's own
    with pytest.raises(NotFound):
        await reconcile_runs.result_json(new_uow.for_hall("AF")(read_only=True), yx_run["id"])
    await reconcile_runs.close_period(new_uow.for_hall("YX"), "2026-10", yx_run["id"], actor="fin", now=NOW)
    _, created = await submit(
        new_uow.for_hall("AF"), statement(line(af.waybill_no, "2026-10-05", total="9.00"))
    )
    assert created  # AF's October is still open
