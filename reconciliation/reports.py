"""write_report(result, fmt): the report in one of the formats the CLI and the API offer;
write_report_to(result, fmt, out): the same written to a binary stream as it is made."""

from __future__ import annotations

import io
from typing import BinaryIO

from .engine import Result

FORMATS = ("json", "csv", "xlsx", "pdf")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
DISPUTES = "disputes"  # the dispute list for EMS (争议清单), an XLSX


def write_report(result: Result, fmt: str) -> bytes:
    out = io.BytesIO()
    write_report_to(result, fmt, out)
    return out.getvalue()


def write_report_to(result: Result, fmt: str, out: BinaryIO) -> None:
    """The report written to `out` piece by piece (JSON, CSV, XLSX); the PDF is made whole (it is capped
    at a few thousand table rows)."""
    if fmt == "json":
        from .report_json import write_json

        return write_json(result, out)
    if fmt == "csv":
        from .report_tables import write_csv

        return write_csv(result, out)
    if fmt == "xlsx":
        from .report_tables import write_xlsx

        return write_xlsx(result, out)
    if fmt == "disputes":
        from .report_disputes import write_disputes

        return write_disputes(result, out)
    if fmt == "pdf":
        from .report_pdf import pdf_report

        out.write(pdf_report(result))
        return None
    raise ValueError(f"未知的报告格式 {fmt!r}（可用：{', '.join((*FORMATS, DISPUTES))}）")
