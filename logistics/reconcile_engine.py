"""The reconciliation engine bound for the use cases (service.reconcile_runs never imports it).

Shared by the finance API, the console and `certpost reconcile`. A stored run keeps only its JSON report;
the other formats are rendered from it, so a closed month's reports never change."""

from __future__ import annotations

import io
from datetime import date
from functools import cache
from typing import BinaryIO

import orjson

from reconciliation import (
    Finding,
    Result,
    ShippedParcel,
    StatementInfo,
    Tariff,
    default_tariff,
    load_tariff,
    reconcile,
)
from reconciliation.allocation import DepartmentShare, Totals
from reconciliation.findings import Findings
from reconciliation.report_json import json_report, result_to_dict
from reconciliation.reports import DISPUTES, MEDIA_TYPES, write_report, write_report_to
from reconciliation.statement import LineFields, Progress
from reconciliation.xlsx_guard import Limits

from .config import Settings
from .domain.hall import Hall
from .service.reconcile_runs import Outcome, Reconcile, Upload

FORMATS = tuple(MEDIA_TYPES)
__all__ = ["write_report"]  # for callers that render a rebuilt result
DISPUTES_FORMAT = DISPUTES
DISPUTES_MEDIA_TYPE = MEDIA_TYPES["xlsx"]


@cache
def _default_tariff() -> Tariff:
    return default_tariff()


def tariff_of(text: str | bytes | None) -> Tariff:
    """TOML text (TariffError naming the key when wrong), or the contracted default."""
    if text is None:
        return _default_tariff()
    return load_tariff(text if isinstance(text, bytes) else text.encode())


def limits_of(settings: Settings) -> Limits:
    """The XLSX caps from the settings (CERTPOST_STATEMENT_MAX_*)."""
    mb = settings.statement_max_uncompressed_mb * 1024 * 1024
    return Limits(
        max_uncompressed_bytes=mb,
        max_part_bytes=min(Limits.max_part_bytes, mb),
        max_ratio=settings.statement_max_ratio,
        max_rows=settings.statement_max_rows,
        max_columns=settings.statement_max_columns,
        max_shared_strings=settings.statement_max_rows + Limits.max_shared_strings - Limits.max_rows,
    )


def run(
    upload: Upload,
    shipments: list[ShippedParcel],
    *,
    origin: Hall,
    tariff: Tariff | None = None,
    on_progress: Progress | None = None,
    limits: Limits | None = None,
) -> Result:
    return reconcile(
        upload.content,
        period=upload.period,
        tariff=tariff or tariff_of(upload.tariff),
        origin=origin,
        shipments=shipments,
        filename=upload.filename,
        on_progress=on_progress,
        limits=limits,
    )


def bind(origin: Hall, limits: Limits | None = None) -> Reconcile:
    """The engine as the use case calls it: upload + shipments → stored JSON and summary."""

    def reconcile_upload(upload: Upload, shipments: list[ShippedParcel]) -> Outcome:
        result = run(upload, shipments, origin=origin, limits=limits)
        summary = result_to_dict(result, findings=False, dispute_lines=False)
        summary["disputes"] = len(result.disputes)
        return Outcome(json_report(result).decode(), summary)

    return reconcile_upload


def render(result_json: str, fmt: str) -> bytes:
    out = io.BytesIO()
    render_to(result_json, fmt, out)
    return out.getvalue()


def render_to(result_json: str, fmt: str, out: BinaryIO) -> None:
    """A stored run's report written to `out` as it is made (the JSON is the stored text itself)."""
    if fmt == "json":
        for start in range(0, len(result_json), _TEXT_CHUNK):
            out.write(result_json[start : start + _TEXT_CHUNK].encode("utf-8"))
        return
    write_report_to(result_from_json(result_json), fmt, out)


_TEXT_CHUNK = 1 << 20


def result_from_json(text: str) -> Result:
    data = orjson.loads(text)
    t, s = data["totals"], data["statement"]
    names: dict[str, str] = {}
    findings = _findings(data.pop("findings"), names)
    departments = []
    for d in data["departments"]:
        if d.get("department_name"):
            names[d["department_code"]] = d["department_name"]
        departments.append(DepartmentShare(**{k: v for k, v in d.items() if k != "department_name"}))
    return Result(
        period=data["period"],
        totals=Totals(**t),
        findings=findings,
        departments=departments,
        statement=StatementInfo(
            s["filename"], s["format"], s["encoding"], s["header_row"], s["declared_total_fen"]
        ),
        warnings=tuple(data["warnings"]),
        department_names=names,
        dispute_lines={d["line_no"]: _line_cells(d) for d in data.get("dispute_lines", ())},
    )


def _findings(stored: list[dict], names: dict[str, str]) -> Findings:
    """The statement's lines grouped again by department and judgement (as the engine keeps them, so a
    million findings are a few thousand judgements), then the unbilled shipments."""
    waybills, line_nos, groups = [], [], []
    department_of, judgement_of, counts = [], [], []
    numbering: dict[tuple, int] = {}
    days: dict[str, date] = {}
    added = []
    for f in stored:
        if f.get("department_name"):
            names[f["department_code"]] = f["department_name"]
        if f["line_no"] is None or added:  # unbilled shipments come after the lines
            added.append(_finding(f))
            continue
        day = f["accepted_on"]
        if day is not None and day not in days:
            days[day] = date.fromisoformat(day)
        key = (
            f["department_code"], days.get(day), f["code"], f["billed_fen"], f["expected_fen"],
            f["difference_fen"], f["detail"], f["billed_weight_g"], f["chargeable_weight_g"], f["zone"],
        )  # fmt: skip
        group = numbering.get(key)
        if group is None:
            group = numbering[key] = len(counts)
            department_of.append(key[0])
            judgement_of.append(key[1:])
            counts.append(0)
        counts[group] += 1
        waybills.append(f["waybill_no"])
        line_nos.append(f["line_no"])
        groups.append(group)
    findings = Findings.of_lines(waybills, line_nos, groups, department_of, judgement_of, counts)
    findings.added = added
    return findings


def _line_cells(d: dict) -> LineFields:
    """The statement cells the dispute list shows (the rest of a line is in its finding)."""
    return LineFields(
        None, d["province"], d["city"], d["county"], None, d["postage_fen"], d["insurance_fen"],
        d["other_fen"], None,
    )  # fmt: skip


def _finding(f: dict) -> Finding:
    accepted_on = date.fromisoformat(f["accepted_on"]) if f["accepted_on"] else None
    return Finding(
        f["waybill_no"], f["department_code"], f["line_no"], accepted_on, f["code"], f["billed_fen"],
        f["expected_fen"], f["difference_fen"], f["detail"], f["billed_weight_g"],
        f["chargeable_weight_g"], f["zone"],
    )  # fmt: skip


# ---- a stored run's findings, filtered and paged for the console ---------------------------------

_FINDING_KEYS = ("waybill_no", "code", "billed_fen", "expected_fen", "difference_fen", "department_code",
                 "detail", "line_no")  # fmt: skip


class FindingsIndex:
    """A stored run's findings as a few columns (code, department, waybill per finding) and the stored
    findings as compact tuples: a page is a filter over the columns and a slice, on the server."""

    def __init__(self, result_json: str):
        data = orjson.loads(result_json)
        self.names = {d["department_code"]: d.get("department_name") or "" for d in data["departments"]}
        pick = tuple(_FINDING_KEYS)
        self.rows = [tuple(f[k] for k in pick) for f in data["findings"]]
        for f in data["findings"]:
            if f.get("department_name"):
                self.names.setdefault(f["department_code"], f["department_name"])
        self.codes = [r[1] for r in self.rows]
        self.departments = [r[5] for r in self.rows]

    def page(
        self, *, code: str = "", department: str = "", waybill: str = "", page: int = 1, size: int = 100
    ):
        """(this page's findings as dicts, how many match, the page shown, pages)."""
        matching = range(len(self.rows))
        if code:
            matching = [i for i in matching if self.codes[i] == code]
        if department:
            matching = [i for i in matching if self.departments[i] == department]
        if waybill:
            wanted = waybill.strip().upper()
            matching = [i for i in matching if wanted in self.rows[i][0]]
        total = len(matching)
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        shown = [
            dict(zip(_FINDING_KEYS, self.rows[i], strict=True)) for i in matching[(page - 1) * size :][:size]
        ]
        for f in shown:
            f["department_name"] = self.names.get(f["department_code"], "")
        return shown, total, page, pages


_INDEXES: dict[str, FindingsIndex] = {}  # the runs last looked at (runs never change once stored)
_INDEXES_KEPT = 2


def cached_index(run_id: str) -> FindingsIndex | None:
    index = _INDEXES.pop(run_id, None)
    if index is not None:
        _INDEXES[run_id] = index  # the most recent last
    return index


def keep_index(run_id: str, index: FindingsIndex) -> None:
    _INDEXES[run_id] = index
    while len(_INDEXES) > _INDEXES_KEPT:
        del _INDEXES[next(iter(_INDEXES))]
