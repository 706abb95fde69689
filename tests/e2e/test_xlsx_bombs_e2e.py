"""Malicious XLSX statements over the real finance API and through `certpost reconcile` (separate
processes): a 422 / exit 2 naming what is wrong, quickly, and the process's peak memory stays small."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.test_finance_e2e import upload
from tests.unit.reconciliation import bad_xlsx as bad

MB = 1024 * 1024
FILES = {
    "styles.xml inflating to 1.5 GiB": (
        lambda: bad.inflating(bad.STYLES, 1536),
        "xl/styles.xml 解压后超过 20 MB",
    ),
    "a sheet compressed 1000:1": (lambda: bad.inflating(bad.SHEET, 50), "sheet1.xml 压缩比异常"),
    "a size that lies": (
        lambda: bad.lying_about_size(bad.inflating(bad.SHEET, 50), bad.SHEET, MB),
        "sheet1.xml 已损坏",
    ),
    "a 2-million-cell row, deflated": (lambda: bad.wide_row(2_000_000, stored=False), "sheet1.xml 压缩比"),
    "a 2-million-cell row, stored": (lambda: bad.wide_row(2_000_000, stored=True), "第 1 行超过 100 列"),
    "a 2-million-cell row for openpyxl": (
        lambda: bad.no_cell_styles({bad.SHEET: bad.wide_row_xml(2_000_000)}),
        "第 1 行超过 100 列",
    ),
    "billion laughs": (bad.billion_laughs, "sheet1.xml 含有 DTD/实体声明"),
    "bad XML": (
        lambda: bad.replaced({bad.SHEET: bad.sheet_xml('<row r="1"><c><v>1</v></row>')}),
        "sheet1.xml 不是有效的 XML",
    ),
    "no worksheet": (lambda: bad.replaced({}, drop={bad.SHEET}), "找不到工作表"),
}


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def baseline(gw, staff):
    """The server's peak after it has reconciled a good XLSX (the engine's imports are loaded)."""
    from tests.unit.reconciliation.builders import xlsx_bytes

    status, answer = upload(gw, staff["finance"], xlsx_bytes(), "2026-10", name="good.xlsx")
    assert status in (200, 201), answer
    return peak_rss_mb(gw.proc.pid)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.parametrize("case", list(FILES))
def test_the_finance_api_answers_422_naming_what_is_wrong(gw, staff, baseline, case):
    make, message = FILES[case]
    started = time.monotonic()
    status, answer = upload(gw, staff["finance"], make(), "2026-10", name="对账单.xlsx")
    elapsed = time.monotonic() - started
    assert status == 422, answer
    assert answer["errors"][0]["field"] == "statement"
    assert answer["errors"][0]["message"].startswith("XLSX 文件异常：")
    assert message in answer["errors"][0]["message"]
    assert elapsed < 15
    assert peak_rss_mb(gw.proc.pid) - baseline < 200, "the server's peak memory grew"


def _reconcile(tmp_path: Path, data: bytes) -> tuple[int, str, float, float]:
    """Exit status, stderr, seconds and the child's peak memory in MB, read from its VmHWM while it runs.
    (Not wait4's ru_maxrss: Linux carries the parent's high-water mark across exec, so it would measure
    the test runner.)"""
    path = tmp_path / "statement.xlsx"
    path.write_bytes(data)
    env = {
        "CERTPOST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/certpost.db",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    cmd = [sys.executable, "-m", "logistics.cli", "reconcile", str(path), "--period", "2026-10"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks = [0.0]

    def watch() -> None:
        while proc.poll() is None:
            try:
                peaks.append(peak_rss_mb(proc.pid))
            except (OSError, AssertionError):  # exiting: its memory is gone already
                pass
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with proc.stderr:
        stderr = proc.stderr.read().decode()
    proc.wait()
    watcher.join()
    return proc.returncode, stderr, time.monotonic() - started, max(peaks)


@pytest.mark.parametrize(
    "case", ["styles.xml inflating to 1.5 GiB", "a 2-million-cell row, stored", "billion laughs", "bad XML"]
)
def test_certpost_reconcile_exits_2_with_a_one_line_reason(tmp_path, case):
    make, message = FILES[case]
    code, stderr, elapsed, peak_mb = _reconcile(tmp_path, make())
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("certpost: ") and message in stderr, stderr
    assert "Traceback" not in stderr
    assert elapsed < 60
    assert 30 < peak_mb < 300, f"peak {peak_mb:.0f} MB"  # the interpreter and its imports are ~100 MB
