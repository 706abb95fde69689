"""The static part of a waybill: frame, zone rules, captions and tags. Drawn once per batch."""

from __future__ import annotations

from reportlab.lib.units import mm

from .content import PAYMENT, PRODUCT
from .fonts import LabelFont
from .layout import LabelLayout

FRAME = 0.9
RULE = 0.6
CAPTION = 6.5
MAIN_RULES_MM = (11, 34, 48, 75, 94, 125, 136)
LEFT, RIGHT = 1.0, 99.0
PRIVACY_NOTE = "隐私面单：收寄件人姓名、电话、门牌号已部分隐藏。快件送达前请核对案件号。"


def draw_artwork(canvas, layout: LabelLayout, font: LabelFont, inbound: bool) -> None:
    canvas.setLineWidth(FRAME)
    canvas.rect(LEFT * mm, layout.y_from_top(150 - 1), (RIGHT - LEFT) * mm, (150 - 2) * mm)
    canvas.setLineWidth(RULE)
    for top in MAIN_RULES_MM:
        _hline(canvas, layout, top, LEFT, RIGHT)
    _vline(canvas, layout, 71.5, 34, 48)
    _vline(canvas, layout, 10.5, 48, 94)
    _vline(canvas, layout, 71.5, 94, 125)
    _vline(canvas, layout, 33.5, 125, 136)
    _vline(canvas, layout, 66.5, 125, 136)
    _header(canvas, layout, font, inbound)
    _captions(canvas, layout, font)
    _tag(canvas, layout, font, "收", 48, 75)
    _tag(canvas, layout, font, "寄", 75, 94)
    if layout.has_stub:
        _stub(canvas, layout, font)


def _header(canvas, layout: LabelLayout, font: LabelFont, inbound: bool) -> None:
    canvas.setFont("Helvetica-BoldOblique", 22)
    canvas.drawString(3 * mm, layout.y_from_top(8.6), "EMS")
    canvas.setFont(font.name, 7.5)
    canvas.drawString(22.5 * mm, layout.y_from_top(5.2), "中国邮政速递物流")
    purpose = "材料收取 · 上门揽收" if inbound else "证照寄递 · 一次不跑"
    canvas.drawString(22.5 * mm, layout.y_from_top(9.0), purpose)
    canvas.rect(66 * mm, layout.y_from_top(10), 32 * mm, 8 * mm, stroke=0, fill=1)
    canvas.setFillGray(1)
    _bold_centered(canvas, font.name, 15, 82 * mm, layout.y_from_top(8.2), PRODUCT)
    canvas.setFillGray(0)


def _captions(canvas, layout: LabelLayout, font: LabelFont) -> None:
    canvas.setFont(font.name, CAPTION)
    for left, top, caption in (
        (73, 37.2, "乡镇"),
        (3, 98.4, "案件号"),
        (3, 104.2, "事  项"),
        (3, 113.2, "内  件"),
        (3, 128.0, "重量"),
        (35, 128.0, "付款方式"),
        (69, 128.0, "保价金额"),
        (3, 140.0, "签收人："),
        (50, 140.0, "签收时间：      年    月    日    时"),
    ):
        canvas.drawString(left * mm, layout.y_from_top(top), caption)
    canvas.drawCentredString(85.5 * mm, layout.y_from_top(123.6), "扫码查询寄递进度")
    _bold_centered(canvas, font.name, 10, 50 * mm, layout.y_from_top(134), PAYMENT)
    canvas.setFont(font.name, 5.5)
    canvas.drawString(3 * mm, layout.y_from_top(147.6), PRIVACY_NOTE)


def _tag(canvas, layout: LabelLayout, font: LabelFont, char: str, top: float, bottom: float) -> None:
    canvas.rect(2.2 * mm, layout.y_from_top(top + 9.5), 7 * mm, 7 * mm, stroke=0, fill=1)
    canvas.setFillGray(1)
    _bold_centered(canvas, font.name, 15, 5.7 * mm, layout.y_from_top(top + 7.9), char)
    canvas.setFillGray(0)


def _stub(canvas, layout: LabelLayout, font: LabelFont) -> None:
    canvas.setDash(3, 2)
    _hline(canvas, layout, 151.5, 0, 100)
    canvas.setDash()
    canvas.setLineWidth(RULE)
    canvas.rect(LEFT * mm, layout.y_from_top(179), (RIGHT - LEFT) * mm, 26.5 * mm)
    _vline(canvas, layout, 56, 152.5, 179)
    canvas.setFont(font.name, CAPTION)
    canvas.drawString(4 * mm, layout.y_from_top(172), "寄件存根 · 请交寄件人留存")


def _bold_centered(canvas, font_name: str, size: float, x: float, y: float, text: str) -> None:
    textobj = canvas.beginText()
    textobj.setFont(font_name, size)
    textobj.setTextRenderMode(2)
    canvas.setLineWidth(0.4)
    canvas.setStrokeColor(canvas._fillColorObj)
    width = canvas.stringWidth(text, font_name, size)
    textobj.setTextOrigin(x - width / 2, y)
    textobj.textOut(text)
    textobj.setTextRenderMode(0)  # render mode is graphics state: it would outlive this text object
    canvas.drawText(textobj)
    canvas.setStrokeGray(0)
    canvas.setLineWidth(RULE)


def _hline(canvas, layout: LabelLayout, top: float, left: float, right: float) -> None:
    y = layout.y_from_top(top)
    canvas.line(left * mm, y, right * mm, y)


def _vline(canvas, layout: LabelLayout, left: float, top: float, bottom: float) -> None:
    canvas.line(left * mm, layout.y_from_top(top), left * mm, layout.y_from_top(bottom))
