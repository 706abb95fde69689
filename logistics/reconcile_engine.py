"""The reconciliation engine bound for the use cases (service.reconcile_runs never imports it).

Shared by the finance API, the console and `certpost reconcile`. A stored run keeps only its JSON report;
the other formats are rendered from it, so a closed month's reports never change."""

from __future__ import annotations

import json
from datetime import date
from functools import cache

from reconciliation import (
    Finding,
    Result,
    ShippedParcel,
    StatementInfo,
    Tariff,
    default_tariff,
    load_tariff,
    reconcile,
    write_report,
)
from reconciliation.allocation import DepartmentShare, Totals
from reconciliation.findings import Findings
from reconciliation.report_json import result_to_dict
from reconciliation.reports import MEDIA_TYPES
from reconciliation.statement import Progress
from reconciliation.xlsx_guard import Limits

from .config import Settings
from .domain.hall import Hall
from .service.reconcile_runs import Outcome, Reconcile, Upload

FORMATS = tuple(MEDIA_TYPES)


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
        report = result_to_dict(result)
        summary = {k: v for k, v in report.items() if k != "findings"}
        summary["disputes"] = len(result.disputes)
        return Outcome(json.dumps(report, ensure_ascii=False), summary)

    return reconcile_upload


def render(result_json: str, fmt: str) -> bytes:
    if fmt == "json":
        return result_json.encode("utf-8")
    return write_report(result_from_json(result_json), fmt)


def result_from_json(text: str) -> Result:
    data = json.loads(text)
    t, s = data["totals"], data["statement"]
    findings = Findings([], [], [], [])
    for f in data["findings"]:
        findings.append(_finding(f))
    return Result(
        period=data["period"],
        totals=Totals(**t),
        findings=findings,
        departments=[DepartmentShare(**d) for d in data["departments"]],
        statement=StatementInfo(
            s["filename"], s["format"], s["encoding"], s["header_row"], s["declared_total_fen"]
        ),
        warnings=tuple(data["warnings"]),
    )


def _finding(f: dict) -> Finding:
    accepted_on = date.fromisoformat(f["accepted_on"]) if f["accepted_on"] else None
    return Finding(
        f["waybill_no"], f["department_code"], f["line_no"], accepted_on, f["code"], f["billed_fen"],
        f["expected_fen"], f["difference_fen"], f["detail"], f["billed_weight_g"],
        f["chargeable_weight_g"], f["zone"],
    )  # fmt: skip
