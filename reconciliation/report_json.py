"""The JSON report: CONTRACT.md "Reconciliation output", plus statement details and warnings."""

from __future__ import annotations

import json

from .engine import Result
from .findings import Finding


def result_to_dict(result: Result) -> dict:
    t = result.totals
    s = result.statement
    return {
        "period": result.period,
        "totals": {
            "billed_fen": t.billed_fen,
            "expected_fen": t.expected_fen,
            "difference_fen": t.difference_fen,
            "lines": t.lines,
            "shipments_of_period": t.shipments_of_period,
            "disputed_fen": t.disputed_fen,
            "codes": t.codes,
        },
        "findings": [finding_to_dict(f) for f in result.findings],
        "departments": [
            {
                "department_code": d.department_code,
                "parcels": d.parcels,
                "amount_fen": d.amount_fen,
                "expected_fen": d.expected_fen,
                "not_billed": d.not_billed,
            }
            for d in result.departments
        ],
        "statement": {
            "filename": s.filename,
            "format": s.file_format,
            "encoding": s.encoding,
            "header_row": s.header_row,
            "declared_total_fen": s.declared_total_fen,
        },
        "warnings": list(result.warnings),
    }


def finding_to_dict(f: Finding) -> dict:
    return {
        "waybill_no": f.waybill_no,
        "code": f.code,
        "billed_fen": f.billed_fen,
        "expected_fen": f.expected_fen,
        "difference_fen": f.difference_fen,
        "department_code": f.department_code,
        "detail": f.detail,
        "line_no": f.line_no,
        "accepted_on": f.accepted_on.isoformat() if f.accepted_on else None,
        "billed_weight_g": f.billed_weight_g,
        "chargeable_weight_g": f.chargeable_weight_g,
        "zone": f.zone,
    }


def json_report(result: Result) -> bytes:
    return json.dumps(result_to_dict(result), ensure_ascii=False, indent=1).encode("utf-8")
