"""Chart geometry for the statistics page, in the shapes templates/charts.html already draws
(`charts.Bars`, `charts.Columns`): bars with room for a department's full name, and one column per month."""

from __future__ import annotations

from collections.abc import Sequence

from . import charts


def bars(items: Sequence[tuple[str, int]], *, width: int = 620, label_w: int = 200) -> charts.Bars | None:
    """Horizontal bars whose labels get `label_w` pixels (a department's name is 10-odd characters)."""
    if not items:
        return None
    row, top = 26, 6
    most = max(v for _, v in items) or 1
    bar_w = width - label_w - 70
    drawn = [
        charts.Bar(label, value, top + n * row, max(2, round(bar_w * value / most)))
        for n, (label, value) in enumerate(items)
    ]
    return charts.Bars(width, top * 2 + row * len(items), label_w, drawn)


def months(
    series: Sequence[tuple[str, int]], *, width: int = 640, height: int = 180
) -> charts.Columns | None:
    """A column per month (YYYY-MM), each labelled while there is room (every k-th past 12 months)."""
    if not series or not any(v for _, v in series):
        return None
    left, bottom, top = 36, 22, 10
    most = max(v for _, v in series)
    step = charts._nice_step(most)
    ceiling = step * -(-most // step)
    plot_w, plot_h = width - left - 6, height - bottom - top
    col = plot_w / len(series)
    every = max(1, -(-len(series) // 12))
    grid = [charts.GridLine(k, top + plot_h - plot_h * k / ceiling) for k in range(0, ceiling + 1, step)]
    drawn = []
    for n, (month, value) in enumerate(series):
        bh = plot_h * value / ceiling
        drawn.append(
            charts.Column(
                day=month,
                value=value,
                x=left + n * col + col * 0.15,
                y=top + plot_h - bh,
                width=col * 0.7,
                height=bh,
                today=False,
                labelled=n % every == 0,
            )
        )
    return charts.Columns(width, height, left, height - 6, col, grid, drawn)
