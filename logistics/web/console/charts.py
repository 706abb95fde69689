"""The geometry of the console's inline SVG charts (no markup: templates/charts.html draws them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int


@dataclass(frozen=True)
class Bars:
    """Horizontal bars, one per label; labels right-aligned left of `label_w`."""

    width: int
    height: int
    label_w: int
    bars: list[Bar]


def bars(items: Sequence[tuple[str, int]], *, width: int = 560) -> Bars | None:
    if not items:
        return None
    row, label_w, top = 26, 110, 6
    most = max(v for _, v in items) or 1
    bar_w = width - label_w - 60
    drawn = [
        Bar(label, value, top + n * row, max(2, round(bar_w * value / most)))
        for n, (label, value) in enumerate(items)
    ]
    return Bars(width, top * 2 + row * len(items), label_w, drawn)


@dataclass(frozen=True)
class GridLine:
    value: int
    y: float


@dataclass(frozen=True)
class Column:
    day: str  # MM-DD
    value: int
    x: float
    y: float
    width: float
    height: float
    today: bool
    labelled: bool  # a label under every seventh column, counted back from today


@dataclass(frozen=True)
class Columns:
    width: int
    height: int
    left: int
    label_y: int
    column_w: float
    grid: list[GridLine]
    columns: list[Column]


def columns(series: Sequence[tuple[date, int]], *, width: int = 640, height: int = 180) -> Columns | None:
    """Daily columns with a light grid."""
    if not series:
        return None
    left, bottom, top = 30, 22, 10
    most = max(max(v for _, v in series), 1)
    step = _nice_step(most)
    ceiling = step * -(-most // step)
    plot_w, plot_h = width - left - 6, height - bottom - top
    col = plot_w / len(series)
    grid = [GridLine(k, top + plot_h - plot_h * k / ceiling) for k in range(0, ceiling + 1, step)]
    drawn = []
    for n, (day, value) in enumerate(series):
        bh = plot_h * value / ceiling
        drawn.append(
            Column(
                day=f"{day:%m-%d}",
                value=value,
                x=left + n * col + col * 0.15,
                y=top + plot_h - bh,
                width=col * 0.7,
                height=bh,
                today=n == len(series) - 1,
                labelled=(len(series) - 1 - n) % 7 == 0,
            )
        )
    return Columns(width, height, left, height - 6, col, grid, drawn)


def _nice_step(most: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if most / step <= 5:
            return step
    return 10000


@dataclass(frozen=True)
class Ring:
    """A ring gauge for a share (the on-time rate)."""

    radius: int
    circumference: float
    filled: float
    percent: float
    tone: str


def ring(rate: float | None) -> Ring | None:
    if rate is None:
        return None
    r = 34
    c = 2 * 3.14159 * r
    tone = "ok" if rate >= 0.9 else "warn" if rate >= 0.7 else "bad"
    return Ring(r, c, c * rate, rate * 100, tone)
