"""`certpost db backup PATH` on a live SQLite gateway: a consistent copy under intake, then a restore."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time

import pytest

from tests.e2e.gateway import CLIENT, Gateway
from tests.fixtures.dispatches import intake_body


class Intake:
    """Threads submitting new dispatches until stopped; each 201 is recorded with when it was answered."""

    def __init__(self, gw: Gateway, threads: int = 4):
        self.gw = gw
        self.answered: list[tuple[float, str]] = []  # (monotonic time of the 201, case_no)
        self.other: list[int] = []
        self.pause_s = 0.0  # between two requests of a thread
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self) -> Intake:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(60)

    def _run(self, n: int) -> None:
        i = 0
        while not self._stop.is_set():
            case_no = f"BK-{n}-{i}"
            i += 1
            status, _ = self.gw.submit(intake_body(case_no))
            with self._lock:
                if status == 201:
                    self.answered.append((time.monotonic(), case_no))
                else:
                    self.other.append(status)
            if self.pause_s:
                time.sleep(self.pause_s)

    def count(self) -> int:
        with self._lock:
            return len(self.answered)

    def answered_before(self, moment: float) -> set[str]:
        with self._lock:
            return {case_no for at, case_no in self.answered if at < moment}

    def answered_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(1 for at, _ in self.answered if start <= at <= end)


def _case_numbers(path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT case_no FROM dispatches WHERE client_id = ?", (CLIENT,)).fetchall()
    finally:
        conn.close()
    return {case_no for (case_no,) in rows}


def _integrity(path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


@pytest.mark.parametrize("fast_writes", ["1", "0"], ids=["fast-writes", "plain-writes"])
def test_backup_while_intake_writes_then_restore(tmp_path, fast_writes):
    """Both SQLite write paths (CERTPOST_SQLITE_FAST_WRITES): the fast one checkpoints the WAL every few
    seconds, the plain one leaves up to 1,000 pages in it, which a copy of the file alone would miss."""
    live_dir, restored_dir = tmp_path / "live", tmp_path / "restored"
    live_dir.mkdir()
    restored_dir.mkdir()
    gw = Gateway(live_dir, CERTPOST_AUTO_BOOK="false", CERTPOST_SQLITE_FAST_WRITES=fast_writes).start()
    try:
        with Intake(gw) as intake:
            deadline = time.time() + 60
            while intake.count() < 300 and time.time() < deadline:
                time.sleep(0.05)
            # Slower from here: the plain path's WAL is then not checkpointed before the copy, so the
            # last dispatches answered before it are in the WAL only.
            intake.pause_s = 0.5
            time.sleep(0.2)
            started = time.monotonic()
            result = gw.cli("db", "backup", str(tmp_path / "copy.db"))
            ended = time.monotonic()
            time.sleep(0.3)  # and intake goes on after the copy
        assert result.returncode == 0, result.stderr
        assert "copy.db" in result.stdout and "完整性检查通过" in result.stdout
        assert intake.other == []
        before = intake.answered_before(started)
        assert len(before) >= 300
        assert intake.answered_between(started, ended) > 0, "intake wrote while the backup ran"
    finally:
        gw.stop()

    copy = tmp_path / "copy.db"
    assert _integrity(copy) == ["ok"]
    in_copy = _case_numbers(copy)
    assert before <= in_copy, f"{len(before - in_copy)} dispatches answered 201 before the backup are missing"
    assert in_copy <= {case_no for _, case_no in intake.answered}  # nothing that was not answered 201
    assert not (tmp_path / "copy.db-wal").exists()  # one self-contained file
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".copy.db")] == []  # no partial left

    # Restore (README "Backups and restore"): the copy becomes the database of a stopped gateway.
    shutil.copyfile(copy, restored_dir / "certpost.db")
    restored = Gateway(restored_dir, CERTPOST_AUTO_BOOK="false").start()
    try:
        some = sorted(before)[0]
        status, _ = restored.submit(intake_body(some))
        assert status == 200  # an identical replay: the restored gateway has it
        assert restored.submit(intake_body("BK-after-restore"))[0] == 201
    finally:
        restored.stop()
    assert _case_numbers(restored_dir / "certpost.db") == in_copy | {"BK-after-restore"}


def _usage_error(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("certpost: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_backup_bad_usage(tmp_path):
    gw = Gateway(tmp_path)
    assert gw.cli("db", "upgrade").returncode == 0
    (tmp_path / "taken.db").write_bytes(b"something")

    assert "已存在" in _usage_error(gw.cli("db", "backup", str(tmp_path / "taken.db")))
    assert (tmp_path / "taken.db").read_bytes() == b"something"  # never overwritten
    assert "不存在" in _usage_error(gw.cli("db", "backup", str(tmp_path / "no-such-dir" / "x.db")))

    postgres = {"CERTPOST_DATABASE_URL": "postgresql+asyncpg://certpost:pw@127.0.0.1:5432/certpost"}
    gw.env.update(postgres)
    assert "pg_dump" in _usage_error(gw.cli("db", "backup", str(tmp_path / "pg.db")))
    assert not (tmp_path / "pg.db").exists()

    gw.env["CERTPOST_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/missing.db"
    assert "missing.db" in _usage_error(gw.cli("db", "backup", str(tmp_path / "m.db")))

    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    gw.env["CERTPOST_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/junk.db"
    assert "junk.db" in _usage_error(gw.cli("db", "backup", str(tmp_path / "j.db")))
    assert not (tmp_path / "j.db").exists()
