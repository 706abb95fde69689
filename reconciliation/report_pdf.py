"""The PDF report finance signs: summary in yuan, findings, departments, the dispute list for EMS."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

from labels.fonts import load_font
from logistics.domain.money import yuan

from .engine import Result
from .findings import Code, Finding
from .wording import CODE_NAMES, ZONE_NAMES

MAX_TABLE_ROWS = 3000  # platypus needs ~1 ms a row; the complete lists are in the XLSX/CSV reports


def cjk_font() -> str:
    """The same CJK face as the labels (embedded TrueType when found, else STSong-Light)."""
    return load_font().name


def pdf_report(result: Result) -> bytes:
    font = cjk_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=font, fontSize=12, leading=18, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9.5)
    t = result.totals

    story: list = [Paragraph(f"EMS 政务邮件费用对账报告（{result.period}）", title)]
    story.append(Paragraph(f"对账单：{escape(result.statement.filename)}", body))
    summary = [
        ("对账单应收合计", f"{yuan(t.billed_fen)} 元"),
        ("按合同资费应收", f"{yuan(t.expected_fen)} 元"),
        ("差额（应收 - 按资费）", f"{yuan(t.difference_fen)} 元"),
        ("申请 EMS 退还", f"{yuan(t.disputed_fen)} 元"),
        ("对账单明细行数", str(t.lines)),
        ("本期交寄件数", str(t.shipments_of_period)),
    ]
    summary += [(CODE_NAMES[c], str(n)) for c, n in t.codes.items() if n]
    story += [Paragraph("一、汇总", heading), _table(summary, font, (60 * mm, 50 * mm), header=False)]
    for warning in result.warnings:
        story.append(Paragraph(f"注意：{escape(warning)}", body))

    story.append(Paragraph("二、部门分摊", heading))
    rows = [("部门", "部门名称", "计费件数", "计费金额(元)", "按资费应收(元)", "未计费件数")]
    rows += [
        (d.department_code, Paragraph(escape(result.department_name(d.department_code)), cell), d.parcels,
         yuan(d.amount_fen), yuan(d.expected_fen), d.not_billed)
        for d in result.departments
    ]  # fmt: skip
    story.append(_table(rows, font, (30 * mm, 60 * mm, 25 * mm, 35 * mm, 35 * mm, 25 * mm)))

    disputes = result.disputes
    story.append(
        Paragraph(
            f"三、争议清单（提交 EMS，共 {len(disputes)} 条，合计申请退还 {yuan(t.disputed_fen)} 元）",
            heading,
        )
    )
    story += _findings_table(disputes, font, cell, body, result.department_name)

    others = [f for f in result.findings if f.code != Code.OK and not f.disputed]
    story.append(Paragraph(f"四、其他差异（共 {len(others)} 条，供核实）", heading))
    story += _findings_table(others, font, cell, body, result.department_name)

    story.append(Paragraph("五、签字确认", heading))
    story.append(
        _table(
            [("经办人：", "", "复核人：", ""), ("财务负责人：", "", "日期：", "")],
            font,
            (30 * mm, 60 * mm, 30 * mm, 60 * mm),
            header=False,
            grid=False,
            height=14 * mm,
        )
    )

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        invariant=True,
        title=f"对账报告 {result.period}",
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
    )
    doc.build(story)
    return out.getvalue()


def _findings_table(
    findings: list[Finding], font: str, cell: ParagraphStyle, body: ParagraphStyle, name: Callable[[str], str]
) -> list:
    if not findings:
        return [Paragraph("无", body)]
    rows: list[tuple] = [
        ("邮件号", "结果", "部门", "行号", "收寄日期", "区域", "应收(元)", "按资费(元)", "差额(元)", "说明")
    ]
    for f in findings[:MAX_TABLE_ROWS]:
        rows.append(
            (
                f.waybill_no,
                CODE_NAMES[f.code],
                Paragraph(escape(name(f.department_code) or f.department_code), cell),
                f.line_no or "",
                f.accepted_on or "",
                ZONE_NAMES.get(f.zone or "", ""),
                yuan(f.billed_fen),
                yuan(f.expected_fen),
                yuan(f.difference_fen),
                Paragraph(escape(f.detail), cell),
            )
        )
    widths = (30 * mm, 20 * mm, 20 * mm, 14 * mm, 20 * mm, 12 * mm, 18 * mm, 18 * mm, 18 * mm, 100 * mm)
    parts: list = [_table(rows, font, widths, size=7.5)]
    if len(findings) > MAX_TABLE_ROWS:
        parts.append(Paragraph(f"此处列出前 {MAX_TABLE_ROWS} 条，完整清单见 XLSX / CSV 报告。", body))
    return parts


def _table(rows: Iterable[tuple], font: str, widths, *, header=True, grid=True, size=9, height=None) -> Table:
    table = Table(
        [[c if isinstance(c, Paragraph) else str(c) for c in r] for r in rows],
        colWidths=widths,
        rowHeights=height,
        repeatRows=1 if header else 0,
    )
    style = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("FONTSIZE", (0, 0), (-1, -1), size),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if grid:
        style.append(("GRID", (0, 0), (-1, -1), 0.4, colors.grey))
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")))
    table.setStyle(TableStyle(style))
    return table
