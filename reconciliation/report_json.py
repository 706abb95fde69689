"""The JSON report: CONTRACT.md "Reconciliation output", plus statement details, department names, warnings.

Written in pieces to a binary stream (orjson), never as one document in memory. The statement's lines
are written per group (lines with the same department and judgement share every key but the waybill and
the row), so a million findings are a million short string joins, not a million dicts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from itertools import islice
from typing import BinaryIO

import orjson

from .engine import Result
from .findings import Finding, Findings

CHUNK_LINES = 4_096  # findings per write: a few MB at a time
_WAYBILL_HEAD = b'{"waybill_no":"'
_LINE_NO = b'"line_no":0,'


def result_to_dict(result: Result, *, findings: bool = True, dispute_lines: bool = True) -> dict:
    t = result.totals
    s = result.statement
    report = {
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
        "findings": [finding_to_dict(f, result.department_name(f.department_code)) for f in result.findings]
        if findings
        else [],
        "departments": [
            {
                "department_code": d.department_code,
                "department_name": result.department_name(d.department_code),
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
        "dispute_lines": [_line_cells(n, c) for n, c in result.dispute_lines.items()]
        if dispute_lines
        else [],
    }
    if not findings:
        del report["findings"]
    if not dispute_lines:
        del report["dispute_lines"]
    return report


def _line_cells(line_no: int, c) -> dict:
    """A disputed line's own cells, for the dispute list of a stored run."""
    return {
        "line_no": line_no,
        "province": c.province,
        "city": c.city,
        "county": c.county,
        "postage_fen": c.postage_fen,
        "insurance_fen": c.insurance_fen,
        "other_fen": c.other_fen,
    }


def finding_to_dict(f: Finding, department_name: str = "") -> dict:
    return {
        "waybill_no": f.waybill_no,
        "code": f.code,
        "billed_fen": f.billed_fen,
        "expected_fen": f.expected_fen,
        "difference_fen": f.difference_fen,
        "department_code": f.department_code,
        "department_name": department_name,
        "detail": f.detail,
        "line_no": f.line_no,
        "accepted_on": f.accepted_on.isoformat() if f.accepted_on else None,
        "billed_weight_g": f.billed_weight_g,
        "chargeable_weight_g": f.chargeable_weight_g,
        "zone": f.zone,
    }


def json_report(result: Result) -> bytes:
    out = io.BytesIO()
    write_json(result, out)
    return out.getvalue()


def write_json(result: Result, out: BinaryIO) -> None:
    """The report, the findings in file order, as the contract's keys in the contract's order."""
    head = orjson.dumps(result_to_dict(result, findings=False, dispute_lines=False))
    # {"period":…,"totals":{…},  then the findings, then the rest, then the disputed lines' cells
    totals_end = head.index(b',"departments":')
    out.write(head[:totals_end] + b',"findings":[')
    _write_joined(out, _finding_pieces(result))
    out.write(b"]" + head[totals_end:-1] + b',"dispute_lines":[')
    lines = iter(result.dispute_lines.items())  # in row order, as the engine and a stored run keep them
    chunks = iter(lambda: list(islice(lines, CHUNK_LINES)), [])
    # one array per chunk, its brackets cut: one buffer each, not one per line
    _write_joined(out, (orjson.dumps([_line_cells(n, c) for n, c in chunk])[1:-1] for chunk in chunks))
    out.write(b"]}")


def _write_joined(out: BinaryIO, pieces: Iterator[bytes]) -> None:
    first = True
    for piece in pieces:
        if piece:
            out.write(piece if first else b"," + piece)
            first = False


def _finding_pieces(result: Result) -> Iterator[bytes]:
    findings = result.findings
    if isinstance(findings, Findings) and findings.groups:
        yield from _line_pieces(result, findings)
        rest = findings.added
    else:
        rest = findings
    for start in range(0, len(rest), CHUNK_LINES):
        chunk = rest[start : start + CHUNK_LINES]
        name = result.department_name
        yield b",".join(orjson.dumps(finding_to_dict(f, name(f.department_code))) for f in chunk)


def _line_pieces(result: Result, findings: Findings) -> Iterator[bytes]:
    """The statement's lines, CHUNK_LINES at a time: per group its text around the waybill and the row."""
    mids, tails = [], []
    for department, judgement in zip(findings.department_of, findings.judgement_of, strict=True):
        sample = Finding("", department, 0, *judgement)
        text = orjson.dumps(finding_to_dict(sample, result.department_name(department))).decode()
        mid, _, tail = text[len(_WAYBILL_HEAD) :].partition(_LINE_NO.decode())  # the key, not text in a value
        mids.append(mid + '"line_no":')
        tails.append("," + tail)
    waybills, line_nos, groups = findings.waybills, findings.line_nos, findings.groups
    for start in range(0, len(groups), CHUNK_LINES):
        stop = min(start + CHUNK_LINES, len(groups))
        chunk_waybills = waybills[start:stop]
        if not plain("".join(chunk_waybills)):  # never from the readers; then each one through orjson
            chunk_waybills = [orjson.dumps(w).decode()[1:-1] for w in chunk_waybills]
        lines = stitched(chunk_waybills, mids, line_nos[start:stop], tails, groups[start:stop])
        text = ',{"waybill_no":"'.join(lines)
        yield _WAYBILL_HEAD + text.encode()


def plain(text: str) -> bool:
    return text.isascii() and (text.isalnum() or not text)


def stitched(waybills, mids: list[str], line_nos, tails: list[str], groups) -> Iterator[str]:
    """Per line: its waybill, its group's text up to the row, the row, its group's text after it."""
    return map("".join, zip(waybills, map(mids.__getitem__, groups), map(str, line_nos),
                            map(tails.__getitem__, groups), strict=True))  # fmt: skip
