"""Fit text into a box: wrap character by character (Chinese has no spaces), shrink, and as a last
resort cut with an ellipsis. Whatever comes out lies inside the box."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from reportlab.pdfbase.pdfmetrics import stringWidth

LEADING = 1.18
ELLIPSIS = "…"


@dataclass(frozen=True)
class FittedText:
    size: float
    leading: float
    lines: tuple[str, ...]

    @property
    def height(self) -> float:
        return self.size + self.leading * (len(self.lines) - 1) if self.lines else 0.0


@lru_cache(maxsize=65536)
def char_width(char: str, font_name: str) -> float:
    """Advance width of one character at size 1."""
    return stringWidth(char, font_name, 1)


def text_width(text: str, font_name: str, size: float) -> float:
    return sum(char_width(c, font_name) for c in text) * size


def fit_text(
    text: str, font_name: str, width: float, height: float, *, max_size: float, min_size: float = 5.0
) -> FittedText:
    """The largest size (0.5 pt steps) at which the wrapped text fits; at min_size, cut to fit."""
    text = " ".join(text.split())
    size = max_size
    while True:
        leading = size * LEADING
        max_lines = max(1, int((height - size) // leading) + 1) if height >= size else 0
        lines = wrap(text, font_name, size, width)
        if len(lines) <= max_lines:
            return FittedText(size, leading, tuple(lines))
        if size - 0.5 < min_size:
            return FittedText(size, leading, _cut(lines, max_lines, font_name, size, width))
        size -= 0.5


def wrap(text: str, font_name: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    for char in text:
        advance = char_width(char, font_name) * size
        if current and used + advance > width:
            lines.append("".join(current).rstrip())
            current, used = [], 0.0
            if char == " ":
                continue
        if advance > width:  # a single glyph wider than the box: nothing sensible to draw
            continue
        current.append(char)
        used += advance
    if current:
        lines.append("".join(current).rstrip())
    return lines


def _cut(lines: list[str], max_lines: int, font_name: str, size: float, width: float) -> tuple[str, ...]:
    if max_lines == 0:
        return ()
    kept = lines[:max_lines]
    last = kept[-1]
    while last and text_width(last + ELLIPSIS, font_name, size) > width:
        last = last[:-1]
    kept[-1] = last + ELLIPSIS
    return tuple(kept)
