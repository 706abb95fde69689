"""The statement read in a forked child (parallel.py) gives what reading it in turn gives."""

from __future__ import annotations

import os

import pytest

from reconciliation import StatementError, default_tariff, matching, parallel, reconcile
from reconciliation.statement import read_statement

from .builders import LINES, ORIGIN, SHIPMENTS, csv_text, xlsx_bytes

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork here")


@pytest.fixture
def always(monkeypatch):
    """Fork whatever the size and the number of cores."""
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(parallel, "ENABLED", True)


def _parallel(data, **kwargs):
    job = parallel.start(data, **kwargs)
    assert job is not None
    try:
        statement = job.result()
        assert job.repeats() in (None, matching.repeats(statement.waybills))
        return statement
    finally:
        job.close()


def _outcome(read):
    try:
        return read()
    except StatementError as e:
        return ("error", str(e), e.row, e.column, e.errors)


SOURCES = {
    "gbk": csv_text().encode("gbk"),
    "utf-8": csv_text().encode("utf-8"),
    "utf-16": csv_text().encode("utf-16"),
    "xlsx": xlsx_bytes(),
    "letters in a waybill": csv_text([("EA123456789CN", *LINES[0][1:]), *LINES[1:]]).encode("gbk"),
    "leading zero": csv_text([("0" + LINES[0][0], *LINES[0][1:]), *LINES[1:]]).encode("gbk"),
    "long waybill": csv_text([("9" * 30, *LINES[0][1:]), *LINES[1:]]).encode("gbk"),
    "bad weight": csv_text([LINES[0], (*LINES[1][:5], "重", *LINES[1][6:])]).encode("gbk"),
    "empty": csv_text([]).encode("gbk"),
    "not a statement": b"hello\nworld\n",
}


@needs_fork
@pytest.mark.parametrize("case", SOURCES)
def test_parallel_read_gives_the_same_statement_or_error(always, case):
    data = SOURCES[case]
    serial = _outcome(lambda: read_statement(data, filename="s.csv"))
    forked = _outcome(lambda: _parallel(data, filename="s.csv"))
    assert forked == serial
    if not isinstance(forked, tuple):
        assert forked.lines == serial.lines
        assert list(forked.field_table()[1]) == list(serial.field_table()[1])


@needs_fork
def test_parallel_read_of_a_path_and_its_progress(always, tmp_path):
    path = tmp_path / "statement.csv"
    path.write_bytes(SOURCES["gbk"])
    serial_calls, forked_calls = [], []
    serial = read_statement(path, on_progress=lambda *a: serial_calls.append(a))
    job = parallel.start(path, on_progress=lambda *a: forked_calls.append(a))
    job.poll()
    assert job.result() == serial
    job.close()
    assert job.pid == 0
    assert forked_calls == serial_calls


@needs_fork
def test_missing_file_gives_the_same_error(always, tmp_path):
    path = tmp_path / "missing.csv"
    assert _outcome(lambda: _parallel(path)) == _outcome(lambda: read_statement(path))


@needs_fork
@pytest.mark.parametrize("case", ["gbk", "xlsx", "letters in a waybill", "leading zero", "long waybill"])
def test_reconcile_gives_the_same_result_either_way(monkeypatch, case):
    data = SOURCES[case]

    def run():
        return reconcile(data, period="2026-10", tariff=default_tariff(), origin=ORIGIN, shipments=SHIPMENTS)

    monkeypatch.setattr(parallel, "ENABLED", False)
    serial = run()
    monkeypatch.setattr(parallel, "ENABLED", True)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    started = []
    original = parallel.start
    monkeypatch.setattr(parallel, "start", lambda *a, **k: started.append(1) or original(*a, **k))
    forked = run()
    assert started
    assert list(forked.findings) == list(serial.findings)
    for part in ("period", "totals", "departments", "statement", "warnings"):
        assert getattr(forked, part) == getattr(serial, part)


@needs_fork
def test_statement_error_comes_before_a_shipments_error(always):
    def shipments():
        yield SHIPMENTS[0]
        raise RuntimeError("database gone")

    with pytest.raises(StatementError):
        reconcile(
            SOURCES["bad weight"],
            period="2026-10",
            tariff=default_tariff(),
            origin=ORIGIN,
            shipments=shipments(),
        )
    with pytest.raises(RuntimeError, match="database gone"):
        reconcile(
            SOURCES["gbk"], period="2026-10", tariff=default_tariff(), origin=ORIGIN, shipments=shipments()
        )


@needs_fork
def test_a_child_that_dies_is_replaced_by_reading_in_turn(always, monkeypatch):
    monkeypatch.setattr(parallel, "_child", lambda *args: os._exit(3))
    assert _parallel(SOURCES["gbk"]) == read_statement(SOURCES["gbk"])


@needs_fork
def test_repeated_waybills_and_int_waybills_come_from_the_child(always):
    lines = [LINES[0], LINES[1], LINES[0], LINES[2], LINES[1], LINES[0]]
    data = csv_text(lines).encode("gbk")
    job = parallel.start(data)
    statement = job.result()
    assert list(statement.int_waybills) == [int(line[0]) for line in lines]
    assert job.repeats() == [[0, 2, 5], [1, 4]] == matching.repeats(statement.waybills)
    assert job.pid == 0


@needs_fork
def test_a_progress_callback_that_raises_stops_the_child(always):
    def stop(done, total):
        raise KeyboardInterrupt

    job = parallel.start(SOURCES["gbk"], on_progress=stop)
    with pytest.raises(KeyboardInterrupt):
        job.result()
    assert job.pid == 0 and job.fd == -1


def test_small_input_is_read_in_turn():
    assert parallel.start(SOURCES["gbk"]) is None


def test_no_fork_or_one_core_or_threads_means_reading_in_turn(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 2)
    assert parallel.start(SOURCES["gbk"]) is None
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)
    monkeypatch.setattr(parallel, "_cpus", lambda: 1)
    assert parallel.start(SOURCES["gbk"]) is None
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    monkeypatch.delattr(parallel.os, "fork", raising=False)
    assert parallel.start(SOURCES["gbk"]) is None
    result = reconcile(
        SOURCES["gbk"], period="2026-10", tariff=default_tariff(), origin=ORIGIN, shipments=SHIPMENTS
    )
    assert result.totals.lines == len(LINES)


def test_fork_failure_means_reading_in_turn(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(parallel, "ENABLED", True)

    def fail():
        raise OSError("no more processes")

    monkeypatch.setattr(parallel.os, "fork", fail, raising=False)
    assert parallel.start(SOURCES["gbk"]) is None
