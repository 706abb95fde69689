"""ZPL II for Zebra thermal printers at 203 or 300 dpi, with the same zones and words as the PDF.

Field data goes through ^FH: ^, ~ and the escape character itself, and every non-ASCII character
(as UTF-8 bytes, ^CI28), are written as _XX hex escapes, so no citizen's text can break out of its
field. Text is wrapped here (ZPL's ^FB overprints its last line when text is too long)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from reportlab.lib.units import mm

from logistics.domain.hall import Hall
from logistics.domain.model import Dispatch

from .barcodes import code128_bars
from .content import PAYMENT, PRODUCT, LabelContent, Points, label_content
from .layout import Box, LabelLayout, TextSlot, layout_for
from .waybill import spaced_digits

DOTS_PER_MM = {203: 8, 300: 12}
DEFAULT_FONT = "E:SIMSUN.TTF"  # a CJK TrueType font stored on the printer; override per site
ESCAPE = "_"
PT_TO_MM = 25.4 / 72
RULES_MM = (11, 34, 48, 75, 94, 125, 136)


def render_zpl_labels(
    dispatches: Sequence[Dispatch],
    *,
    dpi: int,
    origin: Hall,
    public_url: str,
    size: str = "100x150",
    printer_font: str = DEFAULT_FONT,
    points: Points | None = None,
) -> str:
    if dpi not in DOTS_PER_MM:
        raise ValueError(f"unsupported printer resolution {dpi} dpi; expected one of {sorted(DOTS_PER_MM)}")
    layout = layout_for(size)
    page = _Page(layout, DOTS_PER_MM[dpi], printer_font)
    return "".join(page.label(label_content(d, origin, public_url, points)) for d in dispatches)


def field_data(text: str) -> str:
    """^FH-escaped field data: ASCII passes, except ^ ~ and the escape character; the rest as UTF-8 hex."""
    out = []
    for char in text:
        if char in "^~" + ESCAPE or not (" " <= char <= "\x7e"):
            out.extend(f"{ESCAPE}{byte:02X}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    return "".join(out)


def zpl_wrap(text: str, width_dots: int, height_dots: int) -> list[str]:
    """Wrap to lines of at most `width_dots`, CJK glyphs a full em wide and others 0.6 em."""
    lines, current, used = [], "", 0.0
    for char in " ".join(text.split()):
        advance = height_dots * (1.0 if unicodedata.east_asian_width(char) in "WF" else 0.6)
        if current and used + advance > width_dots:
            lines.append(current.rstrip())
            current, used = "", 0.0
        current += char
        used += advance
    return [*lines, current.rstrip()] if current else lines


class _Page:
    def __init__(self, layout: LabelLayout, dots_per_mm: int, printer_font: str):
        self.layout = layout
        self.dpmm = dots_per_mm
        self.width = layout.width_mm * dots_per_mm
        self.height = layout.height_mm * dots_per_mm
        self.font = printer_font

    def dots(self, points: float) -> int:
        return round(points / mm * self.dpmm)

    def label(self, content: LabelContent) -> str:
        parts = [
            "^XA",
            "^CI28",
            f"^PW{self.width}",
            f"^LL{self.height}",
            "^LH0,0",
            f"^CWJ,{self.font}",
            *self._frame(),
            *self._barcode(content.waybill_no),
            self._centered_text(self.layout.digits, spaced_digits(content.waybill_no)),
            *self._product_box(),
            *self._texts(content),
            self._qr(content.tracking_url),
            "^XZ",
        ]
        return "\n".join(parts) + "\n"

    def _frame(self) -> list[str]:
        d, line = self.dpmm, max(2, self.dpmm // 4)
        rules = [f"^FO{d},{top * d}^GB{98 * d},{line},{line}^FS" for top in RULES_MM]
        return [f"^FO{d},{d}^GB{98 * d},{148 * d},{line}^FS", *rules]

    def _barcode(self, waybill_no: str) -> list[str]:
        module = 3 if self.dpmm == 8 else 4
        bar_height = 14 * self.dpmm
        width = code128_bars(waybill_no).modules * module
        x, y = (self.width - width) // 2, 13 * self.dpmm
        symbol = f"^BY{module},3,{bar_height}^BCN,{bar_height},N,N,N,A"
        return [f"^FO{x},{y}{symbol}^FH{ESCAPE}^FD{field_data(waybill_no)}^FS"]

    def _product_box(self) -> list[str]:
        d = self.dpmm
        height = 6 * d
        return [
            f"^FO{66 * d},{2 * d}^GB{32 * d},{8 * d},{8 * d}^FS",
            f"^FO{70 * d},{3 * d}^FR^AJN,{height},{height}^FH{ESCAPE}^FD{field_data(PRODUCT)}^FS",
            f"^FO{3 * d},{3 * d}^A0N,{7 * d},{6 * d}^FDEMS^FS",
            f"^FO{36 * d},{128 * d}^AJN,{4 * d},{4 * d}^FH{ESCAPE}^FD{field_data(PAYMENT)}^FS",
        ]

    def _texts(self, content: LabelContent) -> list[str]:
        slots = (
            (self.layout.sorting, content.sorting),
            (self.layout.town, content.destination_town),
            (self.layout.recipient_head, "收 " + content.recipient.head),
            (self.layout.recipient_address, content.recipient.address),
            (self.layout.sender_head, "寄 " + content.sender.head),
            (self.layout.sender_address, content.sender.address),
            (self.layout.case_no, "案件号 " + content.case_no),
            (self.layout.matter, "事项 " + content.matter),
            (self.layout.items, "内件 " + content.items),
            (self.layout.weight, "重量 " + content.weight),
            (self.layout.value, "保价 " + content.declared_value),
        )
        return [command for slot, text in slots for command in self._fitted_text(slot, text)]

    def _fitted_text(self, slot: TextSlot, text: str) -> list[str]:
        box = self._box_dots(slot.box)
        height = self.dots(slot.max_size * PT_TO_MM * mm)
        smallest = max(self.dots(slot.min_size * PT_TO_MM * mm), 10)
        while True:
            lines = zpl_wrap(text, box.w, height)
            max_lines = max(1, int(box.h // (height * 1.15)))
            if len(lines) <= max_lines or height <= smallest:
                break
            height -= 1
        lines = lines[:max_lines]
        step = round(height * 1.15)
        return [
            f"^FO{box.x},{box.y + n * step}^AJN,{height},{height}^FH{ESCAPE}^FD{field_data(line)}^FS"
            for n, line in enumerate(lines)
        ]

    def _centered_text(self, box_pt: Box, text: str) -> str:
        box = self._box_dots(box_pt)
        return f"^FO{box.x},{box.y}^FB{box.w},1,0,C^A0N,{box.h},{box.h}^FH{ESCAPE}^FD{field_data(text)}^FS"

    def _qr(self, url: str) -> str:
        box = self._box_dots(self.layout.qr)
        magnification = 4 if self.dpmm == 8 else 6
        return f"^FO{box.x},{box.y}^BQN,2,{magnification}^FH{ESCAPE}^FDMA,{field_data(url)}^FS"

    def _box_dots(self, box: Box) -> Box:
        """A box in dots with y measured from the label's top, as ZPL wants it."""
        top = self.layout.height - box.top
        return Box(self.dots(box.x), self.dots(top), self.dots(box.w), self.dots(box.h))
