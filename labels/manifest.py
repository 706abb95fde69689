"""The handover manifest (交接清单) signed when the courier collects the batch at the hall.

A4 portrait, a table that continues over as many pages as needed, totals and the two signature
lines at the end. Citizens' names are masked as on the labels."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from logistics.domain.hall import Hall
from logistics.domain.masking import mask_name
from logistics.domain.model import Direction, Dispatch
from logistics.domain.village import VillagePoint

from .content import NotBooked, Points, point_of
from .fonts import LabelFont, load_font
from .pdfsave import save_binary
from .textfit import fit_text

PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
ROW_H = 7 * mm
HEADER_H = 34 * mm
FOOTER_H = 40 * mm
# (title, width in mm); the widths add up to the printable width of A4 less the margins (180 mm)
COLUMNS = (
    ("序号", 12),
    ("运单号", 34),
    ("案件号", 36),
    ("收件人", 20),
    ("寄达乡镇", 34),
    ("类型", 18),
    ("重量(kg)", 26),
)


def render_manifest_pdf(
    dispatches: Sequence[Dispatch],
    *,
    origin: Hall,
    courier: str,
    at: datetime,
    font_path: str | None = None,
    points: Points | None = None,
) -> bytes:
    """`points`: a parcel for a village point goes to the point's town (content.point_of)."""
    missing = [d.case_no for d in dispatches if not d.waybill_no]
    if missing:
        raise NotBooked(f"尚未取得运单号：{'、'.join(missing)}")
    font = load_font(font_path)
    rows = [_row(n, d, point_of(d, points)) for n, d in enumerate(dispatches, start=1)]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle("邮件交接清单")
    pages = _paginate(rows)
    for page_no, page_rows in enumerate(pages, start=1):
        _header(canvas, font, origin, courier, at, page_no, len(pages))
        y = _table(canvas, font, page_rows, PAGE_H - MARGIN - HEADER_H)
        if page_no == len(pages):
            _totals_and_signatures(canvas, font, dispatches, y)
        canvas.showPage()
    save_binary(canvas)
    return buffer.getvalue()


def _row(number: int, d: Dispatch, point: VillagePoint | None = None) -> tuple[str, ...]:
    inbound = d.direction is Direction.INBOUND
    town = (point.address.town or point.town) if point is not None else d.address.town or d.address.county
    return (
        str(number),
        d.waybill_no or "",
        d.case_no,
        mask_name(d.recipient.name),
        town,
        "取件" if inbound else "寄出",
        f"{d.weight_g / 1000:.3f}",
    )


def _paginate(rows: list[tuple[str, ...]]) -> list[list[tuple[str, ...]]]:
    per_page = int((PAGE_H - 2 * MARGIN - HEADER_H - ROW_H) // ROW_H)
    last_page = int((PAGE_H - 2 * MARGIN - HEADER_H - ROW_H - FOOTER_H) // ROW_H)
    pages, rest = [], list(rows)
    while len(rest) > last_page:
        pages.append(rest[:per_page])
        rest = rest[per_page:]
    return [*pages, rest]


def _header(canvas, font: LabelFont, origin: Hall, courier: str, at: datetime, page: int, pages: int):
    top = PAGE_H - MARGIN
    canvas.setFont(font.name, 18)
    canvas.drawCentredString(PAGE_W / 2, top - 9 * mm, "EMS 政务专递邮件交接清单")
    canvas.setFont(font.name, 10)
    canvas.drawString(MARGIN, top - 19 * mm, font.printable(f"交寄单位：{origin.name}（{origin.phone}）"))
    canvas.drawString(MARGIN, top - 26 * mm, f"交接时间：{at:%Y-%m-%d %H:%M}")
    canvas.drawString(MARGIN + 80 * mm, top - 26 * mm, font.printable(f"揽收人：{courier}"))
    canvas.drawRightString(PAGE_W - MARGIN, top - 26 * mm, f"第 {page} / {pages} 页")


def _table(canvas, font: LabelFont, rows: list[tuple[str, ...]], top: float) -> float:
    canvas.setLineWidth(0.5)
    y = top
    for cells, bold in ((tuple(title for title, _ in COLUMNS), True), *((row, False) for row in rows)):
        x = MARGIN
        canvas.setFillGray(0.88 if bold else 1)
        canvas.rect(MARGIN, y - ROW_H, sum(w for _, w in COLUMNS) * mm, ROW_H, stroke=1, fill=1)
        canvas.setFillGray(0)
        for text, (_, width) in zip(cells, COLUMNS, strict=True):
            _cell(canvas, font, text, x, y, width * mm)
            x += width * mm
        y -= ROW_H
    for offset in _column_edges():
        canvas.line(MARGIN + offset, top, MARGIN + offset, y)
    return y


def _cell(canvas, font: LabelFont, text: str, x: float, y: float, width: float) -> None:
    fitted = fit_text(font.printable(text), font.name, width - 2 * mm, ROW_H - 2 * mm, max_size=9, min_size=5)
    if fitted.lines:
        canvas.setFont(font.name, fitted.size)
        canvas.drawString(x + 1 * mm, y - ROW_H / 2 - fitted.size * 0.35, fitted.lines[0])


def _column_edges() -> list[float]:
    edges, at = [], 0.0
    for _, width in COLUMNS[:-1]:
        at += width * mm
        edges.append(at)
    return edges


def _totals_and_signatures(canvas, font: LabelFont, dispatches: Sequence[Dispatch], y: float) -> None:
    outbound = sum(d.direction is not Direction.INBOUND for d in dispatches)
    total_kg = sum(d.weight_g for d in dispatches) / 1000
    canvas.setFont(font.name, 10)
    summary = f"合计：{len(dispatches)} 件（寄出 {outbound} 件，取件 {len(dispatches) - outbound} 件），"
    canvas.drawString(MARGIN, y - 8 * mm, summary + f"总重量 {total_kg:.3f} kg")
    line_y = y - 26 * mm
    for x, title in ((MARGIN, "交寄人（签字）："), (MARGIN + 95 * mm, "揽收人（签字）：")):
        canvas.drawString(x, line_y, title)
        canvas.line(x + 30 * mm, line_y - 1 * mm, x + 80 * mm, line_y - 1 * mm)
    canvas.drawString(MARGIN, line_y - 10 * mm, "日期：")
    canvas.drawString(MARGIN + 95 * mm, line_y - 10 * mm, "日期：")
