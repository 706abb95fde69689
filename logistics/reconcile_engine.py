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
        summary = result_to_dict(result, findings=False)
        del summary["dispute_lines"]
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
    findings = Findings([], [], [], [])
    names = {}
    for f in data.pop("findings"):
        findings.append(_finding(f))
        if f.get("department_name"):
            names[f["department_code"]] = f["department_name"]
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
