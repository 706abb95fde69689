"""write_report(result, fmt): the report in one of the formats the CLI and the API offer."""

from __future__ import annotations

from .engine import Result

FORMATS = ("json", "csv", "xlsx", "pdf")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def write_report(result: Result, fmt: str) -> bytes:
    if fmt == "json":
        from .report_json import json_report

        return json_report(result)
    if fmt == "csv":
        from .report_tables import csv_report

        return csv_report(result)
    if fmt == "xlsx":
        from .report_tables import xlsx_report

        return xlsx_report(result)
    if fmt == "pdf":
        from .report_pdf import pdf_report

        return pdf_report(result)
    raise ValueError(f"未知的报告格式 {fmt!r}（可用：{', '.join(FORMATS)}）")
