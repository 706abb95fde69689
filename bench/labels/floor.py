"""The floor: the same label content drawn with bare reportlab, everything redrawn on every page.

Same strings (masked with the domain rules), same Code128 (reportlab's widget), the same QR symbol
(segno, same parameters) drawn from its matrix as one path; default reportlab settings."""

from __future__ import annotations

import io

import segno
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from logistics.domain.masking import mask_address, mask_name, mask_phone

FONT = "FloorCJK"
FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
W, H = 100 * mm, 150 * mm


def render_floor(dispatches, origin, public_url: str) -> bytes:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, FONT_FILE, subfontIndex=0))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(W, H))
    for dispatch in dispatches:
        _page(canvas, dispatch, origin, public_url)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _page(canvas, d, origin, public_url: str) -> None:
    canvas.setLineWidth(0.8)
    canvas.rect(1 * mm, 1 * mm, 98 * mm, 148 * mm)
    for top in (11, 34, 48, 75, 94, 125, 136):
        canvas.line(1 * mm, H - top * mm, 99 * mm, H - top * mm)
    canvas.setFont("Helvetica-BoldOblique", 22)
    canvas.drawString(3 * mm, H - 8.6 * mm, "EMS")
    canvas.setFont(FONT, 7.5)
    canvas.drawString(22.5 * mm, H - 5.2 * mm, "中国邮政速递物流")
    canvas.rect(66 * mm, H - 10 * mm, 32 * mm, 8 * mm, stroke=0, fill=1)
    canvas.setFillGray(1)
    canvas.setFont(FONT, 15)
    canvas.drawString(70 * mm, H - 8.2 * mm, "政务专递")
    canvas.setFillGray(0)
    canvas.setFont(FONT, 6.5)
    for x, top, caption in (
        (73, 37.2, "乡镇"),
        (3, 98.4, "案件号"),
        (3, 104.2, "事  项"),
        (3, 113.2, "内  件"),
        (3, 128, "重量"),
        (35, 128, "付款方式"),
        (69, 128, "保价金额"),
        (3, 140, "签收人："),
        (50, 140, "签收时间：      年    月    日    时"),
    ):
        canvas.drawString(x * mm, H - top * mm, caption)
    Code128(d.waybill_no, barWidth=3 * 72 / 203, barHeight=14 * mm, quiet=0).drawOn(
        canvas, 27 * mm, H - 27 * mm
    )
    canvas.setFont("Helvetica-Bold", 12)
    canvas.drawCentredString(50 * mm, H - 32 * mm, d.waybill_no)
    a = d.address
    canvas.setFont(FONT, 26)
    canvas.drawString(3.5 * mm, H - 44 * mm, f"{a.province[:2]} {a.city[:2]} {a.county}")
    canvas.setFont(FONT, 14)
    canvas.drawString(73 * mm, H - 45 * mm, a.town)
    canvas.drawString(12 * mm, H - 54 * mm, f"{mask_name(d.recipient.name)}  {mask_phone(d.recipient.phone)}")
    _lines(canvas, a.province + a.city + a.county + a.town + mask_address(a.detail), 12, 60, 86, 11)
    canvas.setFont(FONT, 10)
    canvas.drawString(12 * mm, H - 80 * mm, f"{origin.name}  {origin.phone}")
    _lines(canvas, origin.province + origin.city + origin.county + origin.address, 12, 85, 86, 9)
    canvas.setFont(FONT, 11)
    canvas.drawString(15 * mm, H - 99 * mm, d.case_no)
    _lines(canvas, d.matter_name, 15, 104, 56, 9)
    _lines(canvas, "；".join(f"{i.title}×{i.copies}" for i in d.items), 15, 113, 56, 9)
    canvas.setFont(FONT, 10)
    canvas.drawString(3 * mm, H - 134 * mm, f"{d.weight_g / 1000:.3f} kg")
    canvas.drawString(42 * mm, H - 134 * mm, "寄付月结")
    canvas.drawString(69 * mm, H - 134 * mm, "无")
    _qr(canvas, f"{public_url}/track?waybill_no={d.waybill_no}", 75 * mm, H - 120 * mm, 4 * 72 / 203)


def _lines(canvas, text: str, x: float, top: float, width: float, size: float) -> None:
    canvas.setFont(FONT, size)
    for n, line in enumerate(simpleSplit(text, FONT, size, width * mm)):
        canvas.drawString(x * mm, H - top * mm - n * size * 1.2, line)


def _qr(canvas, data: str, x: float, y: float, module: float) -> None:
    matrix = segno.make(data, error="m", micro=False, mask=4, boost_error=False).matrix
    path = canvas.beginPath()
    size = len(matrix)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                path.rect(x + c * module, y + (size - 1 - r) * module, module, module)
    canvas.drawPath(path, stroke=0, fill=1)
