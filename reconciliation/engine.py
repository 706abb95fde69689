"""The one call the CLI and the API make: statement + shipments + tariff → findings, totals, departments."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

import numpy as np

from logistics.domain.errors import InvalidInput
from logistics.domain.hall import Hall

from . import parallel
from .allocation import DepartmentShare, Totals, allocate
from .findings import DISPUTABLE, Finding, Findings
from .matching import Matcher, Period, ShippedParcel
from .statement import LineFields, Progress, read_statement
from .tariff import Tariff
from .wording import yuan_text
from .xlsx_guard import Limits


@dataclass(frozen=True)
class StatementInfo:
    filename: str
    file_format: str
    encoding: str | None
    header_row: int
    declared_total_fen: int | None


@dataclass(frozen=True)
class Result:
    period: str
    totals: Totals
    findings: Findings  # statement lines in file order, then unbilled shipments by waybill
    departments: list[DepartmentShare]  # by department code; UNKNOWN holds lines we never booked
    statement: StatementInfo
    warnings: tuple[str, ...] = ()
    department_names: Mapping[str, str] = field(default_factory=dict)  # code -> 安福县市场监督管理局
    # the statement's own cells of each disputed line, by row: what the dispute list shows EMS
    dispute_lines: Mapping[int, LineFields] = field(default_factory=dict)

    def department_name(self, code: str) -> str:
        return self.department_names.get(code, "")

    @property
    def disputes(self) -> list[Finding]:
        """What to claim back from EMS: findings billed above what we accept."""
        return [f for f in self.findings if f.disputed]


def reconcile(
    statement: bytes | str | Path,
    *,
    period: str,
    tariff: Tariff,
    origin: Hall,
    shipments: Iterable[ShippedParcel],
    filename: str | None = None,
    mapping: Mapping[str, str] | None = None,
    on_progress: Progress | None = None,
    limits: Limits | None = None,
) -> Result:
    """Reconcile one monthly statement. Raises StatementError / InvalidInput for bad input.
    `limits` caps what an XLSX statement may inflate to (xlsx_guard; the defaults otherwise)."""
    try:
        month = Period.parse(period)
    except ValueError as e:
        raise InvalidInput(
            [("period", str(e).replace("month must be in 1..12", "月份必须在 01–12"))]
        ) from None
    with _gc_paused():
        job = parallel.start(
            statement, filename=filename, mapping=mapping, on_progress=on_progress, limits=limits
        )
        if job is None:
            read = read_statement(
                statement, filename=filename, mapping=mapping, on_progress=on_progress, limits=limits
            )
            matcher = Matcher(tariff, origin, month)
            prepared = matcher.prepare(shipments)
            findings = matcher.match(read, prepared)
        else:  # the statement is read in a child process while this one prepares the shipments
            try:
                matcher = Matcher(tariff, origin, month)
                prepared = matcher.prepare(shipments, poll=job.poll)
            except Exception:
                job.result()  # the statement's error comes first, as when the two are done in turn
                raise
            except BaseException:
                job.close()
                raise
            read = job.result()
            try:
                findings = matcher.match(read, prepared, job.repeats)
            finally:
                job.close()
        totals, departments = allocate(
            findings, read.billed_fen, len(read.waybills), matcher.shipments_of_period
        )
    warnings = []
    if read.declared_total_fen is not None and read.declared_total_fen != read.billed_fen:
        warnings.append(
            f"对账单合计行为 {yuan_text(read.declared_total_fen)}，"
            f"明细之和为 {yuan_text(read.billed_fen)}，两者不符"
        )
    names = department_names(prepared.shipments)
    disputed = _disputed_lines(findings, read)
    info = StatementInfo(
        read.filename, read.file_format, read.encoding, read.header_row, read.declared_total_fen
    )
    return Result(str(month), totals, findings, departments, info, tuple(warnings), names, disputed)


def _disputed_lines(findings: Findings, read) -> dict[int, LineFields]:
    """{row: the line's cells} of the statement lines whose finding is disputed."""
    # a judgement is a finding from `accepted_on` on: (accepted_on, code, billed, expected, difference, …)
    groups = [g for g, j in enumerate(findings.judgement_of) if j[1] in DISPUTABLE and j[4] > 0]
    if not groups:
        return {}
    disputed = np.flatnonzero(np.isin(np.asarray(findings.groups), groups)).tolist()
    fields, line_nos = read.fields, read.line_nos
    return {line_nos[i]: fields[i] for i in disputed}


def department_names(shipments: Iterable[ShippedParcel]) -> dict[str, str]:
    """{department code: its name}, the latest name a shipment carried for the code."""
    codes = map(attrgetter("department_code"), shipments)
    return {c: n for c, n in zip(codes, map(attrgetter("department_name"), shipments), strict=True) if n}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A million-line run allocates millions of tuples and no cycles: the cyclic collector only slows it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
