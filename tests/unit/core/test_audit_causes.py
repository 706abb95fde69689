"""Audit causes: each has its Chinese text, the trail stores exactly the strings it always did, and the code
base records no cause but a `Cause` member. Dispatches and audit events are values: frozen."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from logistics.domain.cause import Cause, ScanRef, read_cause, recorded_cause
from logistics.domain.model import AuditEvent
from logistics.domain.status import Status
from tests.fixtures.dispatches import NOW, make_dispatch

REPO = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("cause", list(Cause))
def test_every_cause_has_its_chinese_text(cause):
    assert cause.text.strip() and CJK.search(cause.text), cause


def test_the_stored_strings_are_those_of_today():
    """Rows on disk and the API's `cause` are these strings: a renamed value would orphan them."""
    assert {c.value for c in Cause} == {
        "intake", "received", "self-pickup at the hall", "booking requested", "booking with the carrier",
        "booked with the carrier", "booking failed",
        "carrier unreachable: booked offline with a pre-allocated number",
        "carrier refused the offline booking", "offline booking reported to the carrier",
        "carrier booked another number", "cancel requested", "cancelled by staff", "cancelled at the carrier",
        "carrier refused to cancel", "recipient details corrected", "label printed", "label reprinted",
        "manifest printed", "handed over", "handover confirmed", "pickup code sent", "pickup code rejected",
        "picked up at the counter (pickup code verified)", "delivered at the village point",
        "village point clerk confirmed", "carrier scan",
        "handed over at the village point (pickup code verified)",
        "pickup code to be printed on a slip", "pickup slip printed", "SMS delivered (provider receipt)",
        "SMS not delivered (provider receipt)",
    }  # fmt: skip


@pytest.mark.parametrize("cause", [c for c in Cause if c is not Cause.CARRIER_SCAN])
def test_a_cause_is_stored_as_its_value_and_read_back_as_itself(cause):
    assert recorded_cause(cause) == cause.value and type(recorded_cause(cause)) is str
    read, scan = read_cause(cause.value)
    assert read is cause and scan is None


@pytest.mark.parametrize(
    "time",
    [NOW, datetime(2026, 11, 5, 18, 7, 3, 250000, tzinfo=timezone(timedelta(hours=8)))],
)
def test_a_carrier_scan_is_stored_as_before_and_read_back_with_its_scan(time):
    scan = ScanRef("305", time)
    stored = recorded_cause(Cause.CARRIER_SCAN, scan)
    assert stored == f"carrier scan 305 at {time.isoformat()}"  # the format of every row so far
    assert read_cause(stored) == (Cause.CARRIER_SCAN, scan)
    assert recorded_cause(*read_cause(stored)) == stored


@pytest.mark.parametrize("stored", ["setup", "carrier scan 305 at yesterday", "carrier scan", " intake"])
def test_a_stored_cause_that_is_no_member_is_kept_as_it_is(stored):
    cause, scan = read_cause(stored)
    if stored == "carrier scan":
        assert cause is Cause.CARRIER_SCAN
    else:
        assert (cause, scan) == (stored, None) and not isinstance(cause, Cause)


def test_a_scan_move_records_its_scan_beside_the_changes():
    booked, _ = make_dispatch().moved(Status.BOOKED, at=NOW, actor="s", cause=Cause.BOOKED, waybill_no="11")
    scan = ScanRef("305", NOW - timedelta(minutes=3))
    moved, event = booked.moved(
        Status.IN_TRANSIT, at=NOW, actor="carrier:305", cause=Cause.CARRIER_SCAN, scan=scan
    )
    assert (event.scan, event.detail, moved.status) == (scan, {}, Status.IN_TRANSIT)
    assert event.recorded_cause == f"carrier scan 305 at {scan.time.isoformat()}"


def test_dispatches_and_audit_events_are_frozen():
    d = make_dispatch()
    moved, event = d.moved(
        Status.BOOKED, at=NOW, actor="system", cause=Cause.BOOKED, waybill_no="1100000000111"
    )
    with pytest.raises(FrozenInstanceError):
        d.status = Status.BOOKED
    with pytest.raises(FrozenInstanceError):
        event.cause = Cause.BOOKING_FAILED
    assert isinstance(event, AuditEvent) and (moved.status, d.status) == (Status.BOOKED, Status.RECEIVED)


# ---- every cause recorded in the code base is a member ------------------------------------------


def test_every_cause_passed_in_the_code_base_is_a_cause_member():
    passed, wrong = 0, []
    for path in sorted([*(REPO / "logistics").rglob("*.py"), *(REPO / "adapters").rglob("*.py")]):
        finder = _CauseArguments()
        finder.visit(ast.parse(path.read_text(encoding="utf-8")))
        for node, function in finder.found:
            passed += 1
            if not _is_member(node, function):
                wrong.append(f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)}")
    assert not wrong, "causes that are not Cause members:\n" + "\n".join(wrong)
    assert passed >= 30  # the walk sees the call sites (moves, notes, scans, intake)


class _CauseArguments(ast.NodeVisitor):
    """Every cause handed over: `cause=` keywords (but a row's column in `dict(...)`) and the third
    positional argument of `AuditEvent(...)`, each with the function it is in."""

    def __init__(self):
        self.found: list[tuple[ast.expr, ast.AST | None]] = []
        self._functions: list[ast.AST] = []

    def visit_FunctionDef(self, node):
        self._functions.append(node)
        self.generic_visit(node)
        self._functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call):
        function = self._functions[-1] if self._functions else None
        if not (isinstance(node.func, ast.Name) and node.func.id == "dict"):  # dict(): a stored row
            self.found += [(k.value, function) for k in node.keywords if k.arg == "cause"]
        if isinstance(node.func, ast.Name) and node.func.id == "AuditEvent" and len(node.args) >= 3:
            self.found.append((node.args[2], function))
        self.generic_visit(node)


def _is_member(node: ast.expr, function: ast.AST | None) -> bool:
    match node:
        case ast.Attribute(value=ast.Name(id="Cause"), attr=name):
            return name in Cause.__members__
        case ast.IfExp(body=body, orelse=orelse):
            return _is_member(body, function) and _is_member(orelse, function)
        case ast.Name(id=name) if function is not None:
            if parameter := _parameter(function, name):  # passed through: it must say it is a Cause
                return parameter.annotation is not None and "Cause" in ast.unparse(parameter.annotation)
            verdicts = list(_assignments(function, name))
            return bool(verdicts) and all(verdicts)
    return False


def _parameter(function, name: str) -> ast.arg | None:
    a = function.args
    return next((p for p in [*a.posonlyargs, *a.args, *a.kwonlyargs] if p.arg == name), None)


def _assignments(function, name: str) -> Iterator[bool]:
    """For each assignment to `name` in `function`, whether it sets a member; a tuple unpacked from
    `read_cause(...)` (a cause read back from the trail) does."""
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id == name:
                yield _is_member(value, function)
            elif isinstance(target, ast.Tuple) and name in {getattr(t, "id", None) for t in target.elts}:
                yield isinstance(value, ast.Call) and ast.unparse(value.func) == "read_cause"


def test_the_walk_refuses_a_literal_and_a_string_variable():
    source = (
        "def f(conn, d, cause: str):\n"
        "    note(conn, d, cause='label printed')\n"
        "    why = f'carrier scan {d}'\n"
        "    move(conn, d, cause=why)\n"
        "    move(conn, d, cause=cause)\n"
        "    AuditEvent(d, 'x', 'intake', None, None)\n"
        "    note(conn, d, cause=Cause.NO_SUCH_MEMBER)\n"
        "    note(conn, d, cause=Cause.BOOKED if d else 'booked')\n"
        "    ok = Cause.BOOKED\n"
        "    note(conn, d, cause=ok)\n"
    )
    finder = _CauseArguments()
    finder.visit(ast.parse(source))
    assert [_is_member(node, function) for node, function in finder.found] == [
        False, False, False, False, False, False, True,
    ]  # fmt: skip
