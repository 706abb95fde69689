"""One EMS-style electronic waybill drawn on a reportlab canvas.

The artwork that never changes within a batch (frame, zone captions, tags) is drawn once into a form
XObject and placed on every label; only the variable text, the barcode and the QR code are drawn per
label. Coordinates are the label's own: (0, 0) is its bottom-left corner."""

from __future__ import annotations

from functools import lru_cache

from reportlab.lib.units import mm

from .artwork import draw_artwork
from .barcodes import DOT, code128_bars, draw_code128, draw_qr, qr_matrix
from .content import LabelContent
from .fonts import LabelFont
from .layout import Box, LabelLayout, TextSlot
from .textfit import FittedText, fit_text, text_width

BARCODE_MODULE = 3 * DOT  # 3 dots at 203 dpi, 0.375 mm
STUB_BARCODE_MODULE = 2 * DOT
LATIN_BOLD = "Helvetica-Bold"
ASCENT = 0.86  # share of the em above the baseline for the CJK faces we use
BOLD_STROKE = 0.3  # pt; text render mode 2 (fill + stroke) fakes bold with a face that has none


def form_name(layout: LabelLayout, inbound: bool) -> str:
    return f"certpost-waybill-{layout.size}-{'in' if inbound else 'out'}"


def ensure_artwork(canvas, layout: LabelLayout, font: LabelFont, inbound: bool, drawn: set[str]) -> str:
    """Define the static artwork form in this document once; returns its name."""
    name = form_name(layout, inbound)
    if name not in drawn:
        canvas.beginForm(name, 0, 0, layout.width, layout.height)
        draw_artwork(canvas, layout, font, inbound)
        canvas.endForm()
        drawn.add(name)
    return name


def draw_waybill(canvas, layout: LabelLayout, font: LabelFont, content: LabelContent, artwork: str) -> None:
    canvas.doForm(artwork)
    _draw_codes(canvas, layout, content)
    text = canvas.beginText()
    for slot, value in _slot_values(layout, content):
        _put_fitted(text, slot, font, value)
    _put_centered(text, layout.digits, LATIN_BOLD, spaced_digits(content.waybill_no))
    if layout.has_stub:
        _put_centered(text, layout.stub_digits, LATIN_BOLD, spaced_digits(content.waybill_no))
    text.setTextRenderMode(0)
    canvas.setLineWidth(BOLD_STROKE)
    canvas.drawText(text)


def spaced_digits(waybill_no: str) -> str:
    return " ".join(waybill_no[i : i + 4] for i in range(0, len(waybill_no), 4))


def _slot_values(layout: LabelLayout, content: LabelContent):
    yield layout.sorting, content.sorting
    yield layout.town, content.destination_town
    yield layout.recipient_head, content.recipient.head
    yield layout.recipient_address, content.recipient.address
    yield layout.sender_head, content.sender.head
    yield layout.sender_address, content.sender.address
    yield layout.case_no, content.case_no
    yield layout.matter, content.matter
    yield layout.items, content.items
    yield layout.weight, content.weight
    yield layout.value, content.declared_value
    if layout.has_stub:
        yield layout.stub_recipient, content.recipient.head
        yield layout.stub_case, f"案件号 {content.case_no}"
        yield layout.stub_items, content.items


def _draw_codes(canvas, layout: LabelLayout, content: LabelContent) -> None:
    _draw_centered_barcode(
        canvas, layout, content.waybill_no, layout.barcode_top_mm, layout.barcode_height_mm, BARCODE_MODULE
    )
    if layout.has_stub:
        bottom = layout.y_from_top(layout.stub_barcode_top_mm + layout.stub_barcode_height_mm)
        x = _on_dot_grid(layout.stub_digits.x)
        draw_code128(
            canvas, content.waybill_no, x, bottom, layout.stub_barcode_height_mm * mm, STUB_BARCODE_MODULE
        )
    matrix = qr_matrix(content.tracking_url)
    module = _qr_module(len(matrix), layout.qr)
    side = len(matrix) * module
    x = _on_dot_grid(layout.qr.x + (layout.qr.w - side) / 2)
    draw_qr(canvas, matrix, x, _on_dot_grid(layout.qr.top - side), module)


def _draw_centered_barcode(
    canvas, layout: LabelLayout, value: str, top_mm: float, height_mm: float, module: float
) -> None:
    width = code128_bars(value).modules * module
    x = _on_dot_grid((layout.width - width) / 2)
    draw_code128(canvas, value, x, layout.y_from_top(top_mm + height_mm), height_mm * mm, module)


def _qr_module(modules: int, box: Box) -> float:
    """Whole dots per module, as large as fits with a 2-module margin, at least 2 dots."""
    dots = int(min(box.w, box.h) / DOT) // (modules + 4)
    return max(2, min(dots, 5)) * DOT


def _on_dot_grid(value: float) -> float:
    return round(value / DOT) * DOT


@lru_cache(maxsize=8192)
def _fitted(text: str, font_name: str, slot: TextSlot) -> FittedText:
    return fit_text(text, font_name, slot.box.w, slot.box.h, max_size=slot.max_size, min_size=slot.min_size)


def _put_fitted(text, slot: TextSlot, font: LabelFont, value: str) -> None:
    fitted = _fitted(font.printable(value), font.name, slot)
    if not fitted.lines:
        return
    text.setFont(font.name, fitted.size, fitted.leading)
    text.setTextRenderMode(2 if slot.bold else 0)
    text.setTextOrigin(slot.box.x, slot.box.top - fitted.size * ASCENT)
    for line in fitted.lines:
        text.textLine(line)


def _put_centered(text, box: Box, font_name: str, value: str) -> None:
    size = box.h / ASCENT * 0.9
    width = text_width(value, font_name, size)
    if width > box.w:
        size *= box.w / width
        width = box.w
    text.setFont(font_name, size)
    text.setTextRenderMode(0)
    text.setTextOrigin(box.x + (box.w - width) / 2, box.y + (box.h - size * ASCENT) / 2)
    text.textOut(value)
