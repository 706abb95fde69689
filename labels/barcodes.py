"""Code128 and QR as bare geometry, each drawn as one filled path.

Sizes are whole printer dots (203 dpi = 8 dots/mm) so the bars land on the thermal head's grid and
scan cleanly; reportlab's widgets would draw one rectangle operator sequence per bar."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from reportlab.graphics.barcode.code128 import Code128

THERMAL_DPI = 203
DOT = 72 / THERMAL_DPI  # one printer dot in points
CODE128_QUIET_MODULES = 10
# Mask selection is ~85 % of segno's time; any mask is valid QR, so one is fixed.
QR_MASK = 4
QR_ERROR = "m"


@dataclass(frozen=True)
class Bars:
    """Dark runs as (start, width) in modules, and the total width in modules."""

    runs: tuple[tuple[int, int], ...]
    modules: int


def code128_bars(value: str) -> Bars:
    symbol = Code128(value, barWidth=1, quiet=0)
    symbol.validate()
    symbol.encode()
    symbol.decompose()
    runs, at = [], 0
    for code in symbol.decomposed:
        if code.isupper():
            width = ord(code) - ord("A") + 1
            runs.append((at, width))
        else:
            width = ord(code) - ord("a") + 1
        at += width
    return Bars(tuple(runs), at)


def draw_code128(canvas, value: str, x: float, y: float, height: float, module: float) -> float:
    """Draw at (x, y) bottom-left of the bars; returns the bars' width in points."""
    bars = code128_bars(value)
    rects = " ".join(f"{start} 0 {width} 1 re" for start, width in bars.runs)
    _fill_in_units(canvas, rects, x, y, module, height)
    return bars.modules * module


def qr_matrix(data: str) -> tuple[tuple[int, ...], ...]:
    """The QR symbol's modules (1 = dark), without the quiet zone."""
    symbol = segno.make(data, error=QR_ERROR, micro=False, mask=QR_MASK, boost_error=False)
    return tuple(tuple(row) for row in symbol.matrix)


def qr_runs(matrix) -> list[tuple[int, int, int]]:
    """Horizontal dark runs as (row, start column, length)."""
    runs = []
    for row_index, row in enumerate(matrix):
        start = None
        for col, dark in enumerate((*row, 0)):
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                runs.append((row_index, start, col - start))
                start = None
    return runs


def draw_qr(canvas, matrix, x: float, y: float, module: float) -> float:
    """Draw with its bottom-left corner at (x, y); returns the symbol's side in points."""
    size = len(matrix)
    rects = " ".join(f"{start} {size - 1 - row} {length} 1 re" for row, start, length in qr_runs(matrix))
    _fill_in_units(canvas, rects, x, y, module, module)
    return size * module


def _fill_in_units(canvas, rects: str, x: float, y: float, unit_x: float, unit_y: float) -> None:
    """Fill integer-coordinate rectangles as one path in a scaled coordinate system.

    Written as literal operators: reportlab's path API formats every coordinate in pure Python
    (no C accelerator here), which was half the cost of a label."""
    canvas.addLiteral(f"q {unit_x:.4f} 0 0 {unit_y:.4f} {x:.3f} {y:.3f} cm {rects} f Q")
