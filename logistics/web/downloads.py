"""A stored reconciliation run's report sent as it is written: never the whole report in memory.

The report is rendered in a worker thread into a temporary file (xlsxwriter needs a seekable file to
finish a ZIP), then sent in chunks; the JSON report is the stored text itself, sent in slices."""

from __future__ import annotations

import asyncio
import tempfile
from typing import BinaryIO

from aiohttp import web

from .. import reconcile_engine

CHUNK = 256 * 1024


async def send_report(
    request: web.Request, result_json: str, fmt: str, filename: str, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    """`fmt`: one of reconcile_engine.FORMATS, or DISPUTES_FORMAT (the dispute list for EMS)."""
    media = (
        reconcile_engine.DISPUTES_MEDIA_TYPE
        if fmt == reconcile_engine.DISPUTES_FORMAT
        else reconcile_engine.MEDIA_TYPES[fmt]
    )
    response = web.StreamResponse(
        headers={
            "Content-Type": media,
            "Content-Disposition": f'attachment; filename="{filename}"',
            **(headers or {}),
        }
    )
    if fmt == "json":  # the stored text, encoded a slice at a time (chunked)
        await response.prepare(request)
        for start in range(0, len(result_json), CHUNK):
            await response.write(result_json[start : start + CHUNK].encode("utf-8"))
        await response.write_eof()
        return response
    with tempfile.TemporaryFile(prefix="certpost-report-") as spool:
        await asyncio.to_thread(_render, result_json, fmt, spool)
        response.content_length = spool.tell()
        spool.seek(0)
        await response.prepare(request)
        while chunk := await asyncio.to_thread(spool.read, CHUNK):
            await response.write(chunk)
    await response.write_eof()
    return response


def _render(result_json: str, fmt: str, spool: BinaryIO) -> None:
    reconcile_engine.render_to(result_json, fmt, spool)
    spool.flush()
