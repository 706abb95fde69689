"""A tiny HTML toolkit for the console: escaping, the page layout, tables, badges and SVG charts.

Everything is a plain string; `Html` marks text that is already safe, everything else is escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import date
from urllib.parse import urlencode

from ...service.console_text import STATUS_SHORT
from ...service.users import ROLE_TEXT


class Html(str):
    """Markup that must not be escaped again. Adding a plain string to it treats that string as markup
    too (the literal tags around it); text from outside always goes through `h` first."""

    def __add__(self, other: str) -> Html:
        return Html(str.__add__(self, other))

    def __radd__(self, other: str) -> Html:
        return Html(str.__add__(other, self))


def h(value) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable) -> Html:
    return Html("".join(h(p) for p in parts))


def url(path: str, **query) -> str:
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{path}?{urlencode(query)}" if query else path


# ---- pieces -------------------------------------------------------------------------------------

_BADGE = {
    "received": "wait",
    "booking": "wait",
    "booking_failed": "bad",
    "booked": "todo",
    "label_printed": "todo",
    "handed_over": "go",
    "in_transit": "go",
    "out_for_delivery": "go",
    "delivered": "ok",
    "picked_up": "ok",
    "delivery_failed": "bad",
    "returning": "bad",
    "returned": "bad",
    "cancelled": "off",
    "awaiting_pickup": "todo",
}


def badge(status: str) -> Html:
    return Html(
        f'<span class="badge b-{_BADGE.get(status, "off")}">{h(STATUS_SHORT.get(status, status))}</span>'
    )


def csrf_field(token: str) -> Html:
    return Html(f'<input type="hidden" name="csrf" value="{h(token)}">')


def button_form(action: str, label: str, csrf: str, *, kind: str = "", confirm: str = "", **hidden) -> Html:
    fields = join(Html(f'<input type="hidden" name="{h(k)}" value="{h(v)}">') for k, v in hidden.items())
    ask = f' data-confirm="{h(confirm)}"' if confirm else ""
    return Html(
        f'<form method="post" action="{h(action)}" class="inline"{ask}>{csrf_field(csrf)}{fields}'
        f'<button type="submit" class="btn {h(kind)}">{h(label)}</button></form>'
    )


def table(headers: Sequence, rows: Iterable[Sequence], *, empty: str = "暂无数据", cls: str = "") -> Html:
    head = join(Html(f"<th>{h(x)}</th>") for x in headers)
    body = join(Html("<tr>" + join(Html(f"<td>{h(c)}</td>") for c in r) + "</tr>") for r in rows)
    if not body:
        body = Html(f'<tr><td colspan="{len(headers)}" class="empty">{h(empty)}</td></tr>')
    return Html(
        f'<div class="tablewrap"><table class="{h(cls)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def card(title: str, body, *, extra: str = "", id: str = "") -> Html:
    ident = f' id="{h(id)}"' if id else ""
    right = Html(f'<div class="card-extra">{h(extra)}</div>') if extra else ""
    return Html(
        f'<section class="card"{ident}><header><h2>{h(title)}</h2>{right}</header>{h(body)}</section>'
    )


def stat(label: str, value, *, href: str = "", tone: str = "", hint: str = "") -> Html:
    inner = f'<div class="stat-label">{h(label)}</div><div class="stat-value">{h(value)}</div>' + (
        f'<div class="stat-hint">{h(hint)}</div>' if hint else ""
    )
    if href:
        return Html(f'<a class="stat {h(tone)}" href="{h(href)}">{inner}</a>')
    return Html(f'<div class="stat {h(tone)}">{inner}</div>')


def dl(pairs: Iterable[tuple[str, object]]) -> Html:
    return Html(
        '<dl class="facts">' + join(Html(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>") for k, v in pairs) + "</dl>"
    )


def flash_box(flash: tuple[str, str] | None) -> Html:
    if not flash:
        return Html("")
    kind, text = flash
    return Html(f'<div class="flash flash-{h(kind)}" role="status">{h(text)}</div>')


# ---- layout -------------------------------------------------------------------------------------

NAV = [
    ("home", "/console/", "工作台", ("dispatcher", "finance", "admin")),
    ("dispatches", "/console/dispatches", "寄递单", ("dispatcher",)),
    ("handover", "/console/handover", "交接揽收", ("dispatcher",)),
    ("exceptions", "/console/exceptions", "异常处理", ("dispatcher",)),
    ("pickup", "/console/pickup", "窗口自取", ("dispatcher",)),
    ("villages", "/console/villages", "村级代办点", ("dispatcher",)),
    ("finance", "/console/finance", "对账结算", ("finance",)),
    ("users", "/console/admin/users", "用户与角色", ()),
    ("system", "/console/admin/system", "系统状态", ()),
]


def layout(
    title: str,
    body,
    *,
    user=None,
    csrf: str = "",
    active: str = "",
    hall: str = "",
    flash: tuple[str, str] | None = None,
) -> Html:
    nav, who = Html(""), Html("")
    if user is not None:
        allowed = [n for n in NAV if user.role == "admin" or user.role in n[3]]
        nav = join(
            Html(f'<a href="{h(href)}" class="{"on" if key == active else ""}">{h(label)}</a>')
            for key, href, label, _ in allowed
        )
        nav = Html(f'<nav class="side">{nav}</nav>')
        who = Html(
            f'<div class="who"><span class="role">{h(ROLE_TEXT.get(user.role, user.role))}</span>'
            f"<span>{h(user.name)}</span>"
            f'<form method="post" action="/console/logout" class="inline">{csrf_field(csrf)}'
            '<button class="btn link" type="submit">退出登录</button></form></div>'
        )
    return Html(f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{h(csrf)}">
<title>{h(title)} · 证照寄递管理</title>
<link rel="stylesheet" href="/console/static/console.css">
<script src="/console/static/console.js" defer></script>
</head><body class="{"app" if user else "bare"}">
<header class="top"><div class="brand"><span class="seal">政</span><div><strong>证照寄递管理</strong>
<small>{h(hall)} · 一次不跑 · EMS 寄递</small></div></div>{who}</header>
<div class="frame">{nav}<main><h1>{h(title)}</h1>{flash_box(flash)}{h(body)}</main></div>
</body></html>""")


# ---- charts (inline SVG, drawn here) ------------------------------------------------------------


def hbar_chart(items: Sequence[tuple[str, int]], *, unit: str = "件", width: int = 560) -> Html:
    """Horizontal bars, one per label, longest first."""
    if not items:
        return Html('<p class="empty">本月暂无数据</p>')
    row, label_w, top = 26, 110, 6
    most = max(v for _, v in items) or 1
    bar_w = width - label_w - 60
    parts = []
    for n, (label, value) in enumerate(items):
        y = top + n * row
        w = max(2, round(bar_w * value / most))
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="lbl">{h(label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="16" rx="3" class="bar"><title>{h(label)}：'
            f"{value} {h(unit)}</title></rect>"
            f'<text x="{label_w + w + 6}" y="{y + 16}" class="val">{value}</text>'
        )
    height = top * 2 + row * len(items)
    return Html(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="按乡镇统计">{"".join(parts)}</svg>'
    )


def column_chart(series: Sequence[tuple[date, int]], *, width: int = 640, height: int = 180) -> Html:
    """Daily columns with a light grid and a label every week."""
    if not series:
        return Html("")
    left, bottom, top = 30, 22, 10
    most = max(max(v for _, v in series), 1)
    step = _nice_step(most)
    ceiling = step * -(-most // step)
    plot_w, plot_h = width - left - 6, height - bottom - top
    col = plot_w / len(series)
    parts = []
    for k in range(0, ceiling + 1, step):
        y = top + plot_h - plot_h * k / ceiling
        parts.append(
            f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="axis">{k}</text>'
        )
    for n, (day, value) in enumerate(series):
        bh = plot_h * value / ceiling
        x = left + n * col + col * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bh:.1f}" width="{col * 0.7:.1f}" height="{bh:.1f}" '
            f'class="col{" today" if n == len(series) - 1 else ""}">'
            f"<title>{day:%m-%d}：{value} 件</title></rect>"
        )
        if (len(series) - 1 - n) % 7 == 0:
            parts.append(
                f'<text x="{x + col * 0.35:.1f}" y="{height - 6}" text-anchor="middle" '
                f'class="axis">{day:%m-%d}</text>'
            )
    return Html(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="每日交寄件数">{"".join(parts)}</svg>'
    )


def _nice_step(most: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000):
        if most / step <= 5:
            return step
    return 10000


def ring(rate: float | None, *, label: str) -> Html:
    """A ring gauge for a share (the on-time rate)."""
    if rate is None:
        return Html(f'<div class="ring empty">—<small>{h(label)}</small></div>')
    r, c = 34, 2 * 3.14159 * 34
    tone = "ok" if rate >= 0.9 else "warn" if rate >= 0.7 else "bad"
    return Html(
        f'<svg class="ring {tone}" viewBox="0 0 90 90" width="90" height="90" role="img" '
        f'aria-label="{h(label)}">'
        f'<circle cx="45" cy="45" r="{r}" class="track"/>'
        f'<circle cx="45" cy="45" r="{r}" class="fill" stroke-dasharray="{c * rate:.1f} {c:.1f}" '
        f'transform="rotate(-90 45 45)"/>'
        f'<text x="45" y="51" text-anchor="middle">{rate * 100:.0f}%</text></svg>'
    )
