"""`certpost reconcile` as a separate process on a database holding real dispatches: exit codes and output."""

import asyncio
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from logistics.storage.db import create_engine
from logistics.storage.migrate import upgrade
from tests.integration.finance.kit import line, statement, stored

FINDING_KEYS = {
    "waybill_no",
    "code",
    "billed_fen",
    "expected_fen",
    "difference_fen",
    "department_code",
    "detail",
}
TARIFF = """effective_from = "2026-01-01"
weight_step_g = 500
[[zones]]
name = "national"
first_weight_g = 500
first_fen = 950
step_fen = 200
"""


async def _populate(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        october = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
        ok = await stored(engine, handed_over_at=october)
        over = await stored(engine, handed_over_at=october)
        unbilled = await stored(engine, handed_over_at=october, department_code="ZRZYJ")
        cancelled = await stored(engine, cancelled=True)
    finally:
        await engine.dispose()
    return {"ok": ok.waybill_no, "over": over.waybill_no, "unbilled": unbilled.waybill_no,
            "cancelled": cancelled.waybill_no}  # fmt: skip


@pytest.fixture
def db(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/certpost.db"
    return url, asyncio.run(_populate(url))


@pytest.fixture
def files(tmp_path, db):
    _, w = db
    good = statement(
        line(w["ok"], "2026-10-05"),
        line(w["over"], "2026-10-05", total="9.50"),
        line(w["cancelled"], "2026-10-06"),
        line("1199000000009", "2026-10-07"),
    )
    (tmp_path / "october.csv").write_bytes(good)
    (tmp_path / "bad.csv").write_bytes(
        statement(
            line(w["ok"], "2026-10-05"), f"{w['over']},2026-10-05,江西省,吉安市,安福县,500,九块五,0,0,9.50"
        )
    )
    (tmp_path / "tariff.toml").write_text(TARIFF, encoding="utf-8")
    (tmp_path / "bad_tariff.toml").write_text(TARIFF.replace("first_fen = 950", 'first_fen = "x"'))
    return tmp_path


def certpost(db, cwd, *args) -> subprocess.CompletedProcess:
    url, _ = db
    env = {"CERTPOST_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    if os.environ.get("PYTHONPATH"):  # a worktree's code, not the installed copy
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    cmd = [sys.executable, "-m", "logistics.cli", *args]
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, timeout=120)


def test_json_on_stdout_has_the_contract_shape_and_every_finding(db, files):
    _, w = db
    result = certpost(db, files, "reconcile", "october.csv", "--period", "2026-10")
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)  # stdout holds the report only
    assert report["period"] == "2026-10"
    assert set(report["totals"]) >= {"billed_fen", "expected_fen", "difference_fen", "lines"}
    assert report["totals"]["billed_fen"] == 800 + 950 + 800 + 800 and report["totals"]["lines"] == 4
    assert all(set(f) >= FINDING_KEYS for f in report["findings"])
    assert {f["waybill_no"]: f["code"] for f in report["findings"]} == {
        w["ok"]: "ok",
        w["over"]: "overcharged",
        w["cancelled"]: "cancelled_but_billed",
        "1199000000009": "unknown_waybill",
        w["unbilled"]: "not_billed",
    }
    departments = {d["department_code"]: d for d in report["departments"]}
    assert set(departments) == {"SCJGJ", "ZRZYJ", "UNKNOWN"}
    assert all(set(d) >= {"department_code", "parcels", "amount_fen"} for d in departments.values())
    assert result.stderr == b""  # no progress bar when stderr is not a terminal


def test_a_tariff_file_changes_what_is_expected(db, files):
    _, w = db
    result = certpost(db, files, "reconcile", "october.csv", "--period", "2026-10", "--tariff", "tariff.toml")
    assert result.returncode == 0, result.stderr.decode()
    codes = {f["waybill_no"]: f["code"] for f in json.loads(result.stdout)["findings"]}
    assert codes[w["ok"]] == "undercharged" and codes[w["over"]] == "ok"


@pytest.mark.parametrize(("fmt", "magic"), [("xlsx", b"PK\x03\x04"), ("pdf", b"%PDF"), ("csv", None)])
def test_reports_are_written_to_out(db, files, fmt, magic):
    result = certpost(
        db, files, "reconcile", "october.csv", "--period", "2026-10", "--format", fmt, "--out", f"r.{fmt}"
    )
    assert result.returncode == 0, result.stderr.decode()
    content = (files / f"r.{fmt}").read_bytes()
    if magic:
        assert content.startswith(magic)
    else:
        assert db[1]["over"] in content.decode("utf-8-sig")
    assert result.stdout == b"" and "2026-10" in result.stderr.decode()


def test_the_dispute_list_for_ems_is_written_to_out(db, files):
    from python_calamine import CalamineWorkbook

    _, w = db
    args = ("reconcile", "october.csv", "--period", "2026-10", "--format", "disputes", "--out", "d.xlsx")
    result = certpost(db, files, *args)
    assert result.returncode == 0, result.stderr.decode()
    rows = CalamineWorkbook.from_path(str(files / "d.xlsx")).get_sheet_by_name("争议清单").to_python()
    header = rows[0]
    lines = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:-1]}
    assert set(lines) == {w["over"], w["cancelled"], "1199000000009"}  # the ok line is no dispute
    over = lines[w["over"]]
    assert (over["寄达县"], over["应收合计(元)"], over["核对结论"], over["申请退还(元)"]) == (
        "安福县",
        9.5,
        "多收",
        1.5,
    )
    assert over["部门名称"] == "安福县市场监督管理局"
    assert lines[w["cancelled"]]["核对结论"] == "已取消仍计费"
    assert rows[-1][0] == "合计" and rows[-1][header.index("应收合计(元)")] == 9.5 + 8.0 + 8.0
    refused = certpost(db, files, "reconcile", "october.csv", "--period", "2026-10", "--format", "disputes")
    assert refused.returncode == 2 and "--out" in refused.stderr.decode()


def test_csv_may_go_to_stdout(db, files):
    result = certpost(db, files, "reconcile", "october.csv", "--period", "2026-10", "--format", "csv")
    assert result.returncode == 0 and db[1]["over"] in result.stdout.decode("utf-8-sig")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("bad.csv", "--period", "2026-10"), ["第 4 行", "资费(元)", "九块五"]),
        (("missing.csv", "--period", "2026-10"), ["missing.csv"]),
        (("october.csv", "--period", "2026-13"), ["period", "YYYY-MM"]),
        (("october.csv", "--period", "2026-10", "--tariff", "bad_tariff.toml"), ["first_fen"]),
        (("october.csv", "--period", "2026-10", "--tariff", "nowhere.toml"), ["nowhere.toml"]),
        (("october.csv", "--period", "2026-10", "--format", "pdf"), ["--out"]),
        (("october.csv", "--period", "2026-10", "--format", "xlsx"), ["--out"]),
    ],
)
def test_bad_input_exits_2_with_a_one_line_reason(db, files, args, says):
    result = certpost(db, files, "reconcile", *args)
    assert result.returncode == 2, result.stderr.decode()
    reason = result.stderr.decode()
    assert reason.count("\n") == 1 and reason.startswith("certpost: "), reason
    assert all(s in reason for s in says), reason
    assert result.stdout == b""


def test_usage_errors_exit_2(db, files):
    assert certpost(db, files, "reconcile", "october.csv").returncode == 2  # --period is required
    assert (
        certpost(db, files, "reconcile", "october.csv", "--period", "2026-10", "--format", "doc").returncode
        == 2
    )


def test_an_unreachable_database_is_an_internal_failure(files):
    db = ("postgresql+asyncpg://certpost:certpost@127.0.0.1:1/none", {})
    result = certpost(db, files, "reconcile", "october.csv", "--period", "2026-10")
    assert result.returncode == 1 and result.stdout == b""
    assert "Traceback" not in result.stderr.decode().splitlines()[-1]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_only_on_a_terminal(monkeypatch):
    from logistics import cli

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert cli._progress_bar() is None
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    show = cli._progress_bar()
    show(50_000, 200_000)
    show(200_000, 200_000)
    assert terminal.getvalue().startswith("\r读取对账单 [") and " 25%" in terminal.getvalue()
    assert "100%" in terminal.getvalue() and "\n" not in terminal.getvalue()
