"""`certpost demo` as a user runs it: a subprocess that plays the whole story and lists its outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LISTED = {  # file -> magic bytes (None: checked below)
    "certpost.db": b"SQLite format 3\x00",
    "certpost.toml": None,
    "credentials.txt": None,
    "labels-100x150.pdf": b"%PDF",
    "labels-a4.pdf": b"%PDF",
    "manifest.pdf": b"%PDF",
    "citizen-track.json": b"{",
    "citizen-case.json": b"{",
    "dispatches.json": b"[",
}
REPORTS = {"json": b"{", "xlsx": b"PK\x03\x04", "pdf": b"%PDF", "csv": None}
MM = 72 / 25.4
ROOT = Path(__file__).resolve().parents[2]


def demo(out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "logistics.cli", "demo", "--dir", str(out), *extra]
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}  # this checkout's code, whatever is installed
    return subprocess.run(cmd, cwd=out.parent, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "certpost-demo"
    result = demo(out)
    assert result.returncode == 0, result.stderr[-2000:]
    return out, result


def _month(out: Path) -> str:
    (statement,) = out.glob("ems-statement-*.csv")
    return statement.stem.removeprefix("ems-statement-")


def test_every_listed_file_exists_and_is_what_it_claims(ran):
    out, result = ran
    month = _month(out)
    files = {
        **LISTED,
        f"ems-statement-{month}.csv": None,
        **{f"reconciliation-{month}.{fmt}": magic for fmt, magic in REPORTS.items()},
    }
    for name, magic in files.items():
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, name
        assert str(path) in result.stdout, f"{name} not in the summary"
        if magic:
            assert path.read_bytes().startswith(magic), name
    labels = (out / "labels-100x150.pdf").read_bytes()
    assert f"/MediaBox [ 0 0 {100 * MM:.4f} {150 * MM:.4f} ]".encode() in labels
    assert b"/MediaBox [ 0 0 595.2756 841.8898 ]" in (out / "labels-a4.pdf").read_bytes()


def test_the_summary_says_where_to_go_next(ran):
    out, result = ran
    assert "演示完成" in result.stdout
    assert "/api/v1/track?waybill_no=" in result.stdout and "/console/" in result.stdout
    case_no = json.loads((out / "citizen-case.json").read_text("utf-8"))["case_no"]
    assert f"/track?case_no={case_no}&phone_last4=1234" in result.stdout
    assert f"certpost --config {out / 'certpost.toml'} serve" in result.stdout
    assert "booking_failed" in result.stdout and "awaiting_pickup" in result.stdout


def test_the_story_reached_every_state_it_shows(ran):
    out, _ = ran
    statuses = sorted(d["status"] for d in json.loads((out / "dispatches.json").read_text("utf-8")))
    assert statuses == sorted(
        ["delivered", "delivery_failed", "in_transit", "awaiting_pickup", "awaiting_pickup", "delivered",
         "booking_failed"]  # the village point's parcel waits at the point for its citizen
    )  # fmt: skip
    track = json.loads((out / "citizen-track.json").read_text("utf-8"))
    assert track["status"] == "delivered" and track["waybill_no"] and track["events"]
    assert "王小明" not in json.dumps(track, ensure_ascii=False) and "13807961234" not in json.dumps(track)
    case = json.loads((out / "citizen-case.json").read_text("utf-8"))  # the approval system's stages first
    assert [e["stage"] for e in case["case_events"]] == ["registered", "accepted", "reviewing", "completed"]
    assert (case["waybill_no"], case["status"]) == (track["waybill_no"], "delivered")
    assert "13807961234" not in json.dumps(case)


def test_the_statement_is_gbk_in_the_contract_layout(ran):
    out, _ = ran
    text = (out / f"ems-statement-{_month(out)}.csv").read_bytes().decode("gbk")
    header = "邮件号,收寄日期,寄达省,寄达市,寄达县,计费重量(克),资费(元),保价费(元),其他费用(元),应收合计(元)"
    assert header in text.splitlines() and text.splitlines()[-1].startswith("合计")


def test_the_json_report_has_the_contract_keys_and_the_planted_findings(ran):
    out, _ = ran
    month = _month(out)
    report = json.loads((out / f"reconciliation-{month}.json").read_text("utf-8"))
    assert set(report) >= {"period", "totals", "findings", "departments"} and report["period"] == month
    assert set(report["totals"]) >= {"billed_fen", "expected_fen", "difference_fen", "lines"}
    codes = [f["code"] for f in report["findings"]]
    assert codes.count("overcharged") == 1 and codes.count("unknown_waybill") == 1
    assert set(codes) == {"ok", "overcharged", "unknown_waybill"}
    over = next(f for f in report["findings"] if f["code"] == "overcharged")
    assert over["difference_fen"] == over["billed_fen"] - over["expected_fen"] > 0
    for finding in report["findings"]:
        assert set(finding) >= {"waybill_no", "code", "billed_fen", "expected_fen", "difference_fen",
                                "department_code", "detail"}  # fmt: skip
    assert all(set(d) >= {"department_code", "parcels", "amount_fen"} for d in report["departments"])


def test_a_second_run_into_the_same_directory_needs_force(ran):
    out, _ = ran
    before = sorted(p.name for p in out.iterdir())
    refused = demo(out)
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "--force" in refused.stderr
    assert sorted(p.name for p in out.iterdir()) == before


def test_force_replays_the_story_into_a_used_directory(ran, tmp_path):
    out = tmp_path / "again"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert demo(out).returncode == 2
    result = demo(out, "--force")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine" and (out / "manifest.pdf").is_file()
