"""Labels and handover manifests over a real socket, read back the way a printer and a scanner would."""

import itertools
import json
import re
import shutil
import subprocess
import time

import pytest

from tests.fixtures.dispatches import intake_body

CASES = (f"LBLE2E{n:04d}" for n in itertools.count(1))
CASE_RE = re.compile(r"LBLE2E\d{4}")


def need(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def run(*args) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def booked(gw, headers, count=1, **over) -> list[dict]:
    """`count` new dispatches, once the simulator has given each a waybill number."""
    ids = []
    for _ in range(count):
        status, d = gw.submit(intake_body(next(CASES), **over))
        assert status == 201, d
        ids.append(d["id"])
    return [wait_for(gw, headers, i, lambda d: d["waybill_no"]) for i in ids]


def wait_for(gw, headers, dispatch_id, ready, timeout=30.0) -> dict:
    deadline = time.time() + timeout
    while True:
        status, d = gw.request("GET", f"/api/v1/dispatches/{dispatch_id}", headers=headers)
        assert status == 200, d
        if ready(d) or time.time() > deadline:
            return d
        time.sleep(0.1)


def post(gw, path, body, headers):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return gw.request("POST", path, raw, {**headers, "Content-Type": "application/json"})


def save(tmp_path, content: bytes, name="out.pdf"):
    assert isinstance(content, bytes) and content.startswith(b"%PDF"), content
    path = tmp_path / name
    path.write_bytes(content)
    return path


def page_sizes_pt(pdf) -> list[tuple[float, float]]:
    out = run("pdfinfo", "-f", "1", "-l", "9999", pdf)
    lines = [line for line in out.splitlines() if line.startswith("Page") and "size:" in line]
    sizes = [line.split("size:")[1].split()[:3] for line in lines]
    return [(round(float(w), 1), round(float(h), 1)) for w, _, h in sizes]


def page_text(pdf, page: int) -> str:
    return run("pdftotext", "-enc", "UTF-8", "-f", page, "-l", page, pdf, "-")


def causes(d, actor):
    return [e["cause"] for e in d["events"] if e["actor"] == actor]


# ---- one label ----------------------------------------------------------------------------------


def test_a_label_scans_at_203_dpi_and_records_label_printed_then_reprints(gw, staff, tmp_path):
    need("pdfinfo", "pdftoppm", "zbarimg")
    [d] = booked(gw, staff["dispatcher"])
    status, pdf = gw.request("GET", f"/api/v1/dispatches/{d['id']}/label.pdf", headers=staff["dispatcher"])
    assert status == 200
    path = save(tmp_path, pdf)
    assert page_sizes_pt(path) == [(283.5, 425.2)]  # 100 x 150 mm
    run("pdftoppm", "-r", "203", "-png", path, tmp_path / "page")
    [image] = sorted(tmp_path.glob("page-*.png"))
    codes = run("zbarimg", "-q", image).split()
    assert f"CODE-128:{d['waybill_no']}" in codes
    assert any(c.startswith("QR-Code:") and d["waybill_no"] in c for c in codes)

    after = wait_for(gw, staff["dispatcher"], d["id"], lambda d: True)
    assert after["status"] == "label_printed"
    assert causes(after, "staff:dispatcher-li") == ["label printed"]

    status, again = gw.request(
        "GET", f"/api/v1/dispatches/{d['id']}/label.pdf?size=100x180", headers=staff["admin"]
    )
    assert page_sizes_pt(save(tmp_path, again, "again.pdf")) == [(283.5, 510.2)]  # 100 x 180 mm
    after = wait_for(gw, staff["dispatcher"], d["id"], lambda d: True)
    assert after["status"] == "label_printed"
    assert causes(after, "staff:admin-li") == ["label reprinted"]


@pytest.mark.parametrize(("dpi", "width"), [(203, 800), (300, 1200)])
def test_a_zpl_label_for_thermal_printers(gw, staff, dpi, width):
    [d] = booked(gw, staff["dispatcher"])
    path = f"/api/v1/dispatches/{d['id']}/label.pdf?format=zpl&dpi={dpi}"
    status, zpl = gw.request("GET", path, headers=staff["dispatcher"])
    assert status == 200
    text = zpl.decode("ascii")
    assert text.startswith("^XA") and f"^PW{width}" in text and d["waybill_no"] in text


def test_a_dispatch_without_a_waybill_number_has_no_label(gw, staff):
    status, d = gw.submit(intake_body(next(CASES), delivery_method="pickup", address=None))
    assert status == 201 and d["waybill_no"] is None
    status, error = gw.request("GET", f"/api/v1/dispatches/{d['id']}/label.pdf", headers=staff["dispatcher"])
    assert status == 409 and "运单号" in error["error"] and "not booked" in error["error"]
    status, error = post(gw, "/api/v1/labels", {"ids": [d["id"]]}, staff["dispatcher"])
    assert status == 409 and [x["id"] for x in error["dispatches"]] == [d["id"]]


def test_an_unknown_dispatch_is_404(gw, staff):
    status, _ = gw.request("GET", "/api/v1/dispatches/nope/label.pdf", headers=staff["dispatcher"])
    assert status == 404


# ---- batches ------------------------------------------------------------------------------------


def case_numbers(pdf, page: int) -> list[str]:
    return CASE_RE.findall(page_text(pdf, page))


def test_a_thermal_batch_keeps_the_requested_order(gw, staff, tmp_path):
    need("pdfinfo", "pdftotext")
    ds = booked(gw, staff["dispatcher"], 4)
    order = [ds[2], ds[0], ds[3], ds[1]]
    status, pdf = post(gw, "/api/v1/labels", {"ids": [d["id"] for d in order]}, staff["dispatcher"])
    assert status == 200
    path = save(tmp_path, pdf)
    assert page_sizes_pt(path) == [(283.5, 425.2)] * 4
    assert [set(case_numbers(path, page)) for page in (1, 2, 3, 4)] == [{d["case_no"]} for d in order]
    for d in ds:
        after = wait_for(gw, staff["dispatcher"], d["id"], lambda d: True)
        assert after["status"] == "label_printed"


def test_an_a4_batch_keeps_the_requested_order(gw, staff, tmp_path):
    need("pdfinfo", "pdftotext")
    ds = booked(gw, staff["dispatcher"], 5)
    order = ds[::-1]
    status, pdf = post(gw, "/api/v1/labels", {"ids": [d["id"] for d in order], "size": "a4"}, staff["admin"])
    assert status == 200
    path = save(tmp_path, pdf)
    assert page_sizes_pt(path) == [(595.3, 841.9)] * 2
    quadrants = [(0, 0), (298, 0), (0, 421), (298, 421)]
    seen = []
    for page in (1, 2):
        for x, y in quadrants:
            region = ("-f", page, "-l", page, "-x", x, "-y", y, "-W", 297, "-H", 420)
            found = CASE_RE.findall(run("pdftotext", "-enc", "UTF-8", *region, path, "-"))
            seen.append(found[0] if found else None)
    assert seen == [d["case_no"] for d in order] + [None, None, None]


def test_a_batch_with_an_unbooked_dispatch_prints_nothing(gw, staff):
    [good] = booked(gw, staff["dispatcher"])
    status, pickup = gw.submit(intake_body(next(CASES), delivery_method="pickup", address=None))
    status, error = post(gw, "/api/v1/labels", {"ids": [good["id"], pickup["id"]]}, staff["dispatcher"])
    assert status == 409 and pickup["case_no"] in error["error"]
    assert [x["id"] for x in error["dispatches"]] == [pickup["id"]]
    after = wait_for(gw, staff["dispatcher"], good["id"], lambda d: True)
    assert after["status"] == "booked"


# ---- manifests ----------------------------------------------------------------------------------


def test_a_manifest_lists_the_waybills_and_confirm_hands_them_over(gw, staff, tmp_path):
    need("pdftotext")
    ds = booked(gw, staff["dispatcher"], 3)
    ids = [d["id"] for d in ds]
    raw = json.dumps({"ids": ids, "courier": "张师傅"}, ensure_ascii=False).encode()
    status, pdf = gw.request(
        "POST", "/api/v1/manifests", raw, {**staff["dispatcher"], "Content-Type": "application/json"}
    )
    assert status == 200
    text = re.sub(r"\s", "", page_text(save(tmp_path, pdf), 1))
    assert all(d["waybill_no"] in text for d in ds) and "张师傅" in text and "交接清单" in text
    assert text.index(ds[0]["waybill_no"]) < text.index(ds[1]["waybill_no"]) < text.index(ds[2]["waybill_no"])

    manifest_id = manifest_header(gw, ids, staff["dispatcher"])
    body = {"ids": ids, "courier": "张师傅", "manifest_id": manifest_id}
    status, result = post(gw, "/api/v1/manifests/confirm", body, staff["dispatcher"])
    assert status == 200 and [x["id"] for x in result["handed_over"]] == ids and result["skipped"] == []
    for d in ds:
        after = wait_for(gw, staff["dispatcher"], d["id"], lambda d: True)
        assert after["status"] == "handed_over"
        confirmed = [e for e in after["events"] if e["cause"] == "handover confirmed"]
        assert confirmed[0]["detail"] == {"courier": "张师傅", "manifest_id": manifest_id}
        assert any(
            e["to_status"] == "handed_over" and e["actor"] == "staff:dispatcher-li" for e in after["events"]
        )

    status, again = post(gw, "/api/v1/manifests/confirm", body, staff["dispatcher"])
    assert status == 200 and again["handed_over"] == [] and [x["id"] for x in again["skipped"]] == ids


def manifest_header(gw, ids, headers) -> str:
    """The manifest id the gateway gives in X-Manifest-Id (urllib, to read the header)."""
    import urllib.request

    raw = json.dumps({"ids": ids}).encode()
    request = urllib.request.Request(
        gw.base + "/api/v1/manifests", raw, {**headers, "Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/pdf"
        return response.headers["X-Manifest-Id"]


# ---- who may print, and bad input ---------------------------------------------------------------


def test_finance_may_not_print_and_strangers_are_401(gw, staff):
    [d] = booked(gw, staff["dispatcher"])
    calls = [
        ("GET", f"/api/v1/dispatches/{d['id']}/label.pdf", None),
        ("POST", "/api/v1/labels", {"ids": [d["id"]]}),
        ("POST", "/api/v1/manifests", {"ids": [d["id"]]}),
        ("POST", "/api/v1/manifests/confirm", {"ids": [d["id"]], "courier": "张师傅"}),
    ]
    for method, path, body in calls:
        raw = json.dumps(body).encode() if body else None
        assert gw.request(method, path, raw, staff["finance"])[0] == 403
        assert gw.request(method, path, raw, {})[0] == 401
    after = wait_for(gw, staff["dispatcher"], d["id"], lambda d: True)
    assert after["status"] == "booked"


BAD_LABEL_QUERIES = [
    ("size=90x90", "size"),
    ("size=a5", "size"),
    ("format=png", "format"),
    ("format=zpl&dpi=600", "dpi"),
    ("format=zpl&size=a4", "size"),
]


@pytest.mark.parametrize(("query", "field"), BAD_LABEL_QUERIES)
def test_a_bad_label_query_is_422_naming_the_field(gw, staff, query, field):
    path = f"/api/v1/dispatches/any/label.pdf?{query}"
    status, error = gw.request("GET", path, headers=staff["dispatcher"])
    assert status == 422 and field in [e["field"] for e in error["errors"]]


BAD_BODIES = [
    ("/api/v1/labels", b"not json", "body"),
    ("/api/v1/labels", [1, 2], "body"),
    ("/api/v1/labels", {}, "ids"),
    ("/api/v1/labels", {"ids": "abc"}, "ids"),
    ("/api/v1/labels", {"ids": []}, "ids"),
    ("/api/v1/labels", {"ids": ["a", "b", "c", 4]}, "ids.3"),
    ("/api/v1/labels", {"ids": ["a", "b", "a"]}, "ids.2"),
    ("/api/v1/labels", {"ids": ["no-such-id"]}, "ids.0"),
    ("/api/v1/labels", {"ids": [f"x{i}" for i in range(501)]}, "ids"),
    ("/api/v1/labels", {"ids": ["a"], "size": "a5"}, "size"),
    ("/api/v1/manifests", {"ids": ["a"], "courier": 7}, "courier"),
    ("/api/v1/manifests/confirm", {"ids": ["a"]}, "courier"),
    ("/api/v1/manifests/confirm", {"ids": ["a"], "courier": "张", "manifest_id": 3}, "manifest_id"),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD_BODIES)
def test_a_bad_body_is_422_naming_the_field(gw, staff, path, body, field):
    status, error = post(gw, path, body, staff["dispatcher"])
    assert status == 422 and field in [e["field"] for e in error["errors"]], error
