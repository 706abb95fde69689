"""Where things go on a thermal label, zone by zone (GB/T 41833-2022: code, destination, recipient,
sender, service areas). Measured in mm from the label's top-left, turned into points for reportlab."""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.units import mm

WIDTH_MM = 100
SIZES_MM = {"100x150": (100, 150), "100x180": (100, 180)}
MAIN_HEIGHT_MM = 150  # both sizes share the main part; 100x180 adds a tear-off stub below it


@dataclass(frozen=True)
class Box:
    """A rectangle in points, reportlab style: (x, y) is the bottom-left corner."""

    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w


@dataclass(frozen=True)
class TextSlot:
    box: Box
    max_size: float
    min_size: float = 5.0
    bold: bool = False


class LabelLayout:
    """Zones of one label size. `rule_*` are frame lines; `slot_*` hold variable text."""

    def __init__(self, size: str):
        self.size = size
        self.width_mm, self.height_mm = SIZES_MM[size]
        self.width = self.width_mm * mm
        self.height = self.height_mm * mm
        self.has_stub = self.height_mm > MAIN_HEIGHT_MM

        self.header = self.box(0, 0, 100, 11)
        self.code = self.box(0, 11, 100, 23)
        self.barcode_top_mm = 13.0
        self.barcode_height_mm = 14.0
        self.digits = self.box(10, 27.6, 80, 5.2)
        self.sorting = TextSlot(self.box(3.5, 35.3, 67, 11.4), max_size=28, min_size=9, bold=True)
        self.town = TextSlot(self.box(73, 39.8, 25, 7), max_size=15, min_size=6, bold=True)
        self.recipient_head = TextSlot(self.box(12, 49.6, 86, 6.4), max_size=14, min_size=7, bold=True)
        self.recipient_address = TextSlot(self.box(12, 56.6, 86, 17.6), max_size=12, min_size=5)
        self.sender_head = TextSlot(self.box(12, 76.4, 86, 5), max_size=10, min_size=6)
        self.sender_address = TextSlot(self.box(12, 81.8, 86, 11.4), max_size=9, min_size=5)
        self.case_no = TextSlot(self.box(15, 95.4, 56, 5), max_size=11, min_size=6, bold=True)
        self.matter = TextSlot(self.box(15, 101.2, 56, 8.4), max_size=9, min_size=5)
        self.items = TextSlot(self.box(15, 110.2, 56, 13.6), max_size=9, min_size=5)
        self.qr = self.box(73, 95.2, 25, 25)
        self.weight = TextSlot(self.box(3, 129.8, 29, 5), max_size=10, min_size=5, bold=True)
        self.value = TextSlot(self.box(69, 129.8, 29, 5), max_size=10, min_size=5, bold=True)
        if self.has_stub:
            self.stub_barcode_top_mm = 154.5
            self.stub_barcode_height_mm = 9.0
            self.stub_digits = self.box(4, 164.2, 50, 4.2)
            self.stub_recipient = TextSlot(self.box(58, 155, 40, 4.6), max_size=9, min_size=5)
            self.stub_case = TextSlot(self.box(58, 160.2, 40, 4.6), max_size=8, min_size=5)
            self.stub_items = TextSlot(self.box(58, 165.4, 40, 12.6), max_size=8, min_size=5)

    def box(self, left_mm: float, top_mm: float, w_mm: float, h_mm: float) -> Box:
        return Box(left_mm * mm, (self.height_mm - top_mm - h_mm) * mm, w_mm * mm, h_mm * mm)

    def y_from_top(self, top_mm: float) -> float:
        return (self.height_mm - top_mm) * mm

    def text_slots(self) -> dict[str, TextSlot]:
        return {name: value for name, value in vars(self).items() if isinstance(value, TextSlot)}


_LAYOUTS: dict[str, LabelLayout] = {}


def layout_for(size: str) -> LabelLayout:
    if size not in SIZES_MM:
        raise ValueError(f"unknown label size {size!r}; expected one of {sorted(SIZES_MM)}")
    if size not in _LAYOUTS:
        _LAYOUTS[size] = LabelLayout(size)
    return _LAYOUTS[size]
