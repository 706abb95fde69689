"""Both directions of one case and the citizen's whole case (issue 15), over real sockets against a real
`certpost serve` booking through its in-process EMS simulator: signed case events before and after the
dispatches, an inbound collection and an outbound delivery sharing one case number, identical 404s."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.gateway import Gateway, sign
from tests.fixtures.dispatches import intake_body

PHONE = "13807961234"
STAGES = ["registered", "accepted", "reviewing", "completed"]


def at(hour: int) -> str:
    return f"2026-11-0{1 + hour // 24}T{hour % 24:02d}:00:00+08:00"


def first(stage="registered", hour=0, **over):
    return {
        "stage": stage,
        "at": at(hour),
        "applicant_phone": PHONE,
        "matter_name": "食品经营许可证核发",
        **over,
    }


def post(gw: Gateway, case_no: str, event, **signing):
    body = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False).encode()
    return gw.request("POST", f"/api/v1/cases/{case_no}/events", body, sign(body, **signing))


def track(gw: Gateway, case_no: str, last4: str = "1234"):
    return gw.request("GET", f"/api/v1/track?case_no={case_no}&phone_last4={last4}")


def raw_track(gw: Gateway, query: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{gw.base}/api/v1/track?{query}", timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_for(what, check, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def admin(gw):
    return {"Authorization": f"Bearer {gw.staff_token('cases-admin', 'admin')}"}


def test_the_citizen_follows_a_case_from_its_first_stage_to_its_parcel(gw, admin):
    case = "AF-CASE-1"
    events = [first()] + [
        {"stage": s, "at": at(5 * i), "note": f"第{i}步"} for i, s in enumerate(STAGES) if i
    ]
    answers = [post(gw, case, e) for e in events[:3]]
    assert [s for s, _ in answers] == [201, 201, 201]
    assert answers[1][1]["description"] == "申请已受理：第1步" and PHONE not in json.dumps(answers)
    assert post(gw, case, events[1]) == (200, answers[1][1])  # an identical replay: the first answer
    assert post(gw, case, {**events[1], "note": "改了"})[0] == 409
    refused = post(gw, case, events[3], secret="wrong-secret")
    assert refused[0] == 401 and refused[1]["error"]
    status, found = track(gw, case)
    assert status == 200 and found["status"] == "reviewing" and found["waybill_no"] is None
    assert [e["stage"] for e in found["case_events"]] == STAGES[:3]  # the refused one left nothing
    assert all(e["description"] for e in found["case_events"]) and found["parcels"] == []

    status, d = gw.submit(intake_body(case))
    assert status == 201
    assert post(gw, case, events[3])[0] == 201  # completed, posted after the dispatch
    waybill = wait_for(
        "booking", lambda: gw.request("GET", f"/api/v1/dispatches/{d['id']}", headers=admin)[1]["waybill_no"]
    )
    status, found = track(gw, case)
    assert status == 200 and (found["status"], found["waybill_no"]) == ("booked", waybill)
    assert [e["stage"] for e in found["case_events"]] == STAGES
    assert [p["direction"] for p in found["parcels"]] == ["outbound"]
    status, by_waybill = gw.request("GET", f"/api/v1/track?waybill_no={waybill}&phone_last4=1234")
    assert status == 200 and [e["stage"] for e in by_waybill["case_events"]] == STAGES


def test_wrong_phone_and_unknown_case_are_the_same_404(gw):
    post(gw, "AF-CASE-2", first())
    wrong = raw_track(gw, "case_no=AF-CASE-2&phone_last4=9999")
    unknown = raw_track(gw, "case_no=AF-CASE-NONE&phone_last4=1234")
    assert wrong[0] == unknown[0] == 404 and wrong[1] == unknown[1]
    status, found = raw_track(gw, "case_no=AF-CASE-2&phone_last4=1234")
    assert status == 200 and PHONE.encode() not in found and "王小明".encode() not in found


def test_case_events_refuse_bad_input_naming_the_field(gw):
    def fields(status_answer):
        status, answer = status_answer
        assert status == 422, answer
        return {e["field"] for e in answer["errors"]}

    assert fields(post(gw, "AF-CASE-3", {"stage": "registered", "at": at(0)})) == {
        "applicant_phone",
        "matter_name",
    }
    assert "stage" in fields(post(gw, "AF-CASE-3", first(stage="approved")))
    assert "at" in fields(post(gw, "AF-CASE-3", first(at="2026-11-01 09:00")))
    assert "at" in fields(post(gw, "AF-CASE-3", first(at="0001-01-01T00:00:00+01:00")))
    assert "applicant_phone" in fields(post(gw, "AF-CASE-3", first(applicant_phone="12345")))
    assert "case_no" in fields(post(gw, "AF%20CASE", first()))
    assert "body" in fields(post(gw, "AF-CASE-3", b"not json"))
    status, _ = post(gw, "AF-CASE-3", first(note="长" * 200_000))
    assert status == 413
    assert track(gw, "AF-CASE-3")[0] == 404  # nothing refused was stored


def test_an_inbound_collection_and_the_outbound_result_share_a_case_number(gw, admin):
    case = "AF-CASE-4"
    inbound = intake_body(case, direction="inbound", items=[{"kind": "materials", "title": "申请材料"}])
    outbound = intake_body(case)
    status_in, d_in = gw.submit(inbound)
    status_out, d_out = gw.submit(outbound)
    assert (status_in, status_out) == (201, 201) and d_in["id"] != d_out["id"]
    assert gw.submit(inbound) == (200, d_in) and gw.submit(outbound) == (200, d_out)
    status, error = gw.submit({**outbound, "weight_g": 900})
    assert status == 409 and "outbound" in error["error"]
    assert gw.submit({**inbound, "weight_g": 900})[0] == 409

    def booked(d):
        return gw.request("GET", f"/api/v1/dispatches/{d['id']}", headers=admin)[1]["waybill_no"]

    waybills = {d["direction"]: wait_for("booking", lambda d=d: booked(d)) for d in (d_in, d_out)}
    orders = {o["waybill_no"]: o for o in gw.control("GET", "/orders")[1]["orders"]}
    assert int(orders[waybills["inbound"]]["order_type"]) == 1  # EMS: collect the applicant's materials
    assert int(orders[waybills["outbound"]]["order_type"]) == 2  # EMS: deliver the result
    status, listing = gw.request("GET", f"/api/v1/dispatches?q={case}", headers=admin)
    assert status == 200 and listing["total"] == 2
    status, found = track(gw, case)
    assert status == 200 and found["waybill_no"] == waybills["outbound"]
    assert {p["direction"]: p["waybill_no"] for p in found["parcels"]} == waybills
