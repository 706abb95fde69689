"""The public API the web layer calls: PDF labels, ZPL labels and the handover manifest."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from reportlab.pdfgen.canvas import Canvas

from logistics.domain.hall import Hall
from logistics.domain.model import Dispatch

from .content import Points, label_content
from .fonts import load_font
from .layout import SIZES_MM, layout_for
from .manifest import render_manifest_pdf
from .pdfsave import save_binary
from .sheet import render_sheet
from .waybill import draw_waybill, ensure_artwork
from .zpl import render_zpl_labels

SHEET = "a4"
LABEL_SIZES = (*SIZES_MM, SHEET)


def render_labels(
    dispatches: Sequence[Dispatch],
    size: str,
    *,
    origin: Hall,
    public_url: str,
    font_path: str | None = None,
    points: Points | None = None,
) -> bytes:
    """One PDF: a label per page at its exact size, or four per A4 page for laser printers; given order."""
    if size == SHEET:
        return render_sheet(
            dispatches, origin=origin, public_url=public_url, font_path=font_path, points=points
        )
    layout = layout_for(size)
    font = load_font(font_path)
    contents = [label_content(d, origin, public_url, points) for d in dispatches]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(layout.width, layout.height), invariant=1)
    canvas.setTitle("EMS 电子运单")
    forms: set[str] = set()
    for content in contents:
        artwork = ensure_artwork(canvas, layout, font, content.inbound, forms)
        draw_waybill(canvas, layout, font, content, artwork)
        canvas.showPage()
    save_binary(canvas)
    return buffer.getvalue()


def render_zpl(
    dispatches: Sequence[Dispatch],
    *,
    dpi: int,
    origin: Hall,
    public_url: str,
    size: str = "100x150",
    points: Points | None = None,
) -> str:
    return render_zpl_labels(
        dispatches, dpi=dpi, origin=origin, public_url=public_url, size=size, points=points
    )


def render_manifest(
    dispatches: Sequence[Dispatch],
    *,
    origin: Hall,
    courier: str,
    at: datetime,
    font_path: str | None = None,
    points: Points | None = None,
) -> bytes:
    return render_manifest_pdf(
        dispatches, origin=origin, courier=courier, at=at, font_path=font_path, points=points
    )


def clear_caches() -> None:
    """Forget cached fitted text and masked strings (benchmarks measure a cold batch with this)."""
    from . import content, fonts, waybill

    for cached in (waybill._fitted, content._citizen_lines, content._hall_lines, fonts._printable):
        cached.cache_clear()


class PdfLabelRenderer:
    """`logistics.ports.LabelRenderer` bound to one hall and public URL."""

    def __init__(self, origin: Hall, public_url: str, *, font_path: str | None = None):
        self.origin, self.public_url, self.font_path = origin, public_url, font_path

    def render(self, dispatches: list[Dispatch], size: str, points: Points | None = None) -> bytes:
        return render_labels(
            dispatches, size, origin=self.origin, public_url=self.public_url, font_path=self.font_path,
            points=points,
        )  # fmt: skip
