"""A4 sheets for laser printers: four 100x150 labels a page, 2x2, left to right then top to bottom.

A4 is 297 mm tall, less than two 150 mm labels, so each label is scaled down a little to keep a
margin for cutting; laser printers resolve the slightly narrower bars easily."""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from logistics.domain.hall import Hall
from logistics.domain.model import Dispatch

from .content import Points, label_content
from .fonts import load_font
from .layout import layout_for
from .pdfsave import save_binary
from .waybill import draw_waybill, ensure_artwork

LABEL_SIZE = "100x150"
COLUMNS, ROWS = 2, 2
PER_PAGE = COLUMNS * ROWS
CELL_MARGIN = 2.5 * mm


def cell_origins() -> list[tuple[float, float, float]]:
    """(x, y, scale) of each cell's label, in reading order."""
    layout = layout_for(LABEL_SIZE)
    cell_w, cell_h = A4[0] / COLUMNS, A4[1] / ROWS
    scale = min((cell_w - 2 * CELL_MARGIN) / layout.width, (cell_h - 2 * CELL_MARGIN) / layout.height)
    placed_w, placed_h = layout.width * scale, layout.height * scale
    origins = []
    for row in range(ROWS):
        for col in range(COLUMNS):
            x = col * cell_w + (cell_w - placed_w) / 2
            y = A4[1] - (row + 1) * cell_h + (cell_h - placed_h) / 2
            origins.append((x, y, scale))
    return origins


def render_sheet(
    dispatches: Sequence[Dispatch],
    *,
    origin: Hall,
    public_url: str,
    font_path: str | None = None,
    points: Points | None = None,
) -> bytes:
    layout = layout_for(LABEL_SIZE)
    font = load_font(font_path)
    contents = [label_content(d, origin, public_url, points) for d in dispatches]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle("EMS 电子运单（A4）")
    forms: set[str] = set()
    cells = cell_origins()
    for start in range(0, len(contents), PER_PAGE):
        _cut_lines(canvas)
        for content, (x, y, scale) in zip(contents[start : start + PER_PAGE], cells, strict=False):
            artwork = ensure_artwork(canvas, layout, font, content.inbound, forms)
            canvas.saveState()
            canvas.translate(x, y)
            canvas.scale(scale, scale)
            draw_waybill(canvas, layout, font, content, artwork)
            canvas.restoreState()
        canvas.showPage()
    save_binary(canvas)
    return buffer.getvalue()


def _cut_lines(canvas) -> None:
    canvas.saveState()
    canvas.setStrokeGray(0.6)
    canvas.setLineWidth(0.3)
    canvas.setDash(2, 3)
    canvas.line(A4[0] / 2, 0, A4[0] / 2, A4[1])
    canvas.line(0, A4[1] / 2, A4[0], A4[1] / 2)
    canvas.restoreState()
