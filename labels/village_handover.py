"""A village point's own handover list (村级代办点证照交接单): the parcels on their way to or waiting at
the point, one line each for the citizen to sign when the clerk hands the certificate over. A4
portrait, as the hall's manifest (manifest.py); citizens' names and phones masked as on the labels."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from logistics.domain.masking import mask_name, mask_phone
from logistics.domain.model import Dispatch
from logistics.domain.village import VillagePoint

from .fonts import LabelFont, load_font
from .pdfsave import save_binary
from .textfit import fit_text

PAGE_W, PAGE_H = A4
MARGIN = 15 * mm
ROW_H = 8 * mm
HEADER_H = 36 * mm
FOOTER_H = 30 * mm
COLUMNS = (("序号", 10), ("运单号", 30), ("办件编号", 32), ("申请人", 18), ("手机号", 24),
           ("证照", 36), ("申请人签字", 30))  # fmt: skip


def render_village_handover_pdf(
    dispatches: Sequence[Dispatch], *, point: VillagePoint, hall_name: str, at: datetime,
    font_path: str | None = None,
) -> bytes:  # fmt: skip
    font = load_font(font_path)
    rows = [_row(n, d) for n, d in enumerate(dispatches, start=1)]
    per_page = int((PAGE_H - 2 * MARGIN - HEADER_H - ROW_H - FOOTER_H) // ROW_H)
    pages = [rows[i : i + per_page] for i in range(0, len(rows), per_page)] or [[]]
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setTitle("村级代办点证照交接单")
    for page_no, page_rows in enumerate(pages, start=1):
        _header(canvas, font, point, hall_name, at, page_no, len(pages), len(rows))
        y = _table(canvas, font, page_rows, PAGE_H - MARGIN - HEADER_H)
        _signatures(canvas, font, y)
        canvas.showPage()
    save_binary(canvas)
    return buffer.getvalue()


def _row(number: int, d: Dispatch) -> tuple[str, ...]:
    items = "、".join(f"{i.title}×{i.copies}" for i in d.items) or d.matter_name
    return (str(number), d.waybill_no or "", d.case_no, mask_name(d.recipient.name),
            mask_phone(d.recipient.phone), items, "")  # fmt: skip


def _header(canvas, font: LabelFont, point: VillagePoint, hall_name: str, at: datetime, page, pages, total):
    top = PAGE_H - MARGIN
    canvas.setFont(font.name, 18)
    canvas.drawCentredString(PAGE_W / 2, top - 9 * mm, font.printable("村级代办点证照交接单"))
    canvas.setFont(font.name, 10)
    where = f"代办点：{point.name}（{point.code}）  乡镇：{point.town}  经办人：{point.clerk_name}"
    canvas.drawString(MARGIN, top - 19 * mm, font.printable(where))
    canvas.drawString(MARGIN, top - 26 * mm, font.printable(f"寄出单位：{hall_name}"))
    canvas.drawString(MARGIN, top - 33 * mm, font.printable(f"打印时间：{at:%Y-%m-%d %H:%M}  共 {total} 件"))
    canvas.drawRightString(PAGE_W - MARGIN, top - 33 * mm, font.printable(f"第 {page} / {pages} 页"))


def _table(canvas, font: LabelFont, rows: list[tuple[str, ...]], top: float) -> float:
    canvas.setLineWidth(0.5)
    y = top
    width = sum(w for _, w in COLUMNS) * mm
    for cells, head in ((tuple(t for t, _ in COLUMNS), True), *((row, False) for row in rows)):
        canvas.setFillGray(0.88 if head else 1)
        canvas.rect(MARGIN, y - ROW_H, width, ROW_H, stroke=1, fill=1)
        canvas.setFillGray(0)
        x = MARGIN
        for text, (_, w) in zip(cells, COLUMNS, strict=True):
            fitted = fit_text(
                font.printable(text), font.name, w * mm - 2 * mm, ROW_H - 2 * mm, max_size=9, min_size=5
            )
            if fitted.lines:
                canvas.setFont(font.name, fitted.size)
                canvas.drawString(x + 1 * mm, y - ROW_H / 2 - fitted.size * 0.35, fitted.lines[0])
            x += w * mm
            canvas.line(x, y, x, y - ROW_H)
        y -= ROW_H
    return y


def _signatures(canvas, font: LabelFont, y: float) -> None:
    canvas.setFont(font.name, 10)
    line_y = y - 14 * mm
    for x, title in ((MARGIN, "代办点经办人（签字）："), (MARGIN + 95 * mm, "投递员（签字）：")):
        canvas.drawString(x, line_y, font.printable(title))
        canvas.line(x + 38 * mm, line_y - 1 * mm, x + 85 * mm, line_y - 1 * mm)
