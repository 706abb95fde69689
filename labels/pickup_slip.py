"""The pickup slip (取件通知单): the one-time pickup code on paper, for a citizen the SMS cannot reach.

A6 portrait: the hall, the matter, the citizen's masked name, where to collect, the code in large digits,
its expiry, and a QR code to the tracking page. The code is printed here and nowhere else."""

from __future__ import annotations

import io
from datetime import datetime

from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from logistics.domain.china_time import CHINA

from .barcodes import draw_qr, qr_matrix
from .fonts import load_font
from .pdfsave import save_binary

PAGE_W, PAGE_H = A6
MARGIN = 7 * mm


def render_pickup_slip_pdf(
    *,
    hall_name: str,
    matter_name: str,
    masked_name: str,
    place: str,
    code: str,
    expires_at: datetime,
    case_no: str,
    track_url: str,
    printed_at: datetime,
    font_path: str | None = None,
) -> bytes:
    font = load_font(font_path)
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A6, invariant=1)
    c.setTitle("取件通知单")
    width = PAGE_W - 2 * MARGIN
    y = PAGE_H - MARGIN - 5 * mm

    def line(text: str, size: float, gap: float = 6 * mm) -> None:
        nonlocal y
        c.setFont(font.name, size)
        c.drawString(MARGIN, y, _clipped(font.printable(text), font.name, size, width))
        y -= gap

    c.setFont(font.name, 14)
    c.drawCentredString(PAGE_W / 2, y, "取件通知单")
    y -= 6 * mm
    line(hall_name, 8, 8 * mm)
    line(f"申请人：{masked_name}", 9)
    line(f"办理事项：{matter_name}", 9)
    line(f"案件号：{case_no}", 9)
    line(f"领取地点：{place}", 9, 9 * mm)
    c.setFont(font.name, 10)
    c.drawString(MARGIN, y, "取件码")
    c.setFont("Helvetica-Bold", 30)
    c.drawString(MARGIN + 14 * mm, y - 3 * mm, code)
    y -= 13 * mm
    line(f"有效期至：{expires_at.astimezone(CHINA):%Y年%m月%d日 %H:%M}", 9)
    line("请凭本通知单上的取件码及本人身份证件领取，勿将取件码告知他人。", 7, 5 * mm)
    qr = qr_matrix(track_url)
    module = min(1.0 * mm, (y - MARGIN) / max(len(qr), 1))
    side = draw_qr(c, qr, PAGE_W - MARGIN - len(qr) * module, MARGIN, module)
    c.setFont(font.name, 7)
    c.drawString(MARGIN, MARGIN + side / 2, "扫码查询办件进度")
    c.drawString(MARGIN, MARGIN, f"打印时间 {printed_at.astimezone(CHINA):%Y-%m-%d %H:%M}")
    c.showPage()
    save_binary(c)
    return buffer.getvalue()


def _clipped(text: str, font_name: str, size: float, width: float) -> str:
    """`text` cut (with …) to fit one line of `width` points."""
    if stringWidth(text, font_name, size) <= width:
        return text
    while text and stringWidth(text + "…", font_name, size) > width:
        text = text[:-1]
    return text + "…"
