"""The statistics and the supervisor's breaches as XLSX: xlsxwriter in constant-memory mode (each row is
written out as soon as the next begins) into a temporary file, streamed to the browser in chunks.

Numbers stay numbers (days, rates as percentages, yuan with two decimals), so finance can sum them."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

import xlsxwriter
from aiohttp import web

from ...service.console_text import cn_time
from ...service.statistics import Statistics, Times
from ...service.supervision import STAGE_TEXT, Breach, deadline_text
from .guard import SECURITY_HEADERS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 256 * 1024


class _Formats:
    def __init__(self, book: xlsxwriter.Workbook):
        self.head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
        self.days = book.add_format({"num_format": "0.00"})
        self.rate = book.add_format({"num_format": "0.0%"})
        self.yuan = book.add_format({"num_format": "#,##0.00"})
        self.hours = book.add_format({"num_format": "0.0"})


def _sheet(book, name: str, header: list[str], widths: list[int], f: _Formats):
    sheet = book.add_worksheet(name)
    for col, (title, width) in enumerate(zip(header, widths, strict=True)):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, title, f.head)
    sheet.freeze_panes(1, 0)
    return sheet


def _number(sheet, row: int, col: int, value: float | None, fmt=None) -> None:
    if value is None:
        sheet.write_blank(row, col, None)
    else:
        sheet.write_number(row, col, value, fmt)


def _times(sheet, row: int, col: int, t: Times, f: _Formats) -> None:
    sheet.write_number(row, col, t.count)
    _number(sheet, row, col + 1, t.median_days, f.days)
    _number(sheet, row, col + 2, t.p90_days, f.days)
    _number(sheet, row, col + 3, t.on_time_rate, f.rate)


TIMES_HEAD = ["交寄件数", "办结→交寄中位数（天）", "办结→交寄90分位（天）", "交寄准时率",
              "送达件数", "办结→送达中位数（天）", "办结→送达90分位（天）", "送达准时率"]  # fmt: skip


def write_statistics(path: Path, s: Statistics) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    f = _Formats(book)
    overview = _sheet(book, "概况", ["项目", "数值", "说明"], [26, 16, 60], f)
    lines = [
        ("统计月份", s.range.text, None, ""),
        ("寄出件数", s.mailed, None, "首次交寄邮政（含揽收扫描）在所选月份内"),
        ("送达件数", s.delivery.count, None, "首次签收或窗口自取在所选月份内"),
        ("办结→送达中位数（天）", s.delivery.median_days, f.days, "按整小时向上取整后取最近秩"),
        ("办结→送达90分位（天）", s.delivery.p90_days, f.days, ""),
        ("送达准时率", s.delivery.on_time_rate, f.rate, "按部门、事项的服务时限判定"),
        ("办结→交寄中位数（天）", s.handover.median_days, f.days, ""),
        ("交寄准时率", s.handover.on_time_rate, f.rate, ""),
        ("寄递费用（元）", None if s.cost_fen is None else s.cost_fen / 100, f.yuan,
         "邮政对账单分摊到部门的金额（已结账月份取冻结结果，否则取最新一次对账）"),
        ("已对账月份", "、".join(s.reconciled_months) or "无", None, ""),
        ("未对账月份", "、".join(s.unreconciled_months) or "无", None, "这些月份没有费用数据"),
    ]  # fmt: skip
    for row, (label, value, fmt, note) in enumerate(lines, start=1):
        overview.write_string(row, 0, label)
        if isinstance(value, str):
            overview.write_string(row, 1, value)
        else:
            _number(overview, row, 1, value, fmt)
        overview.write_string(row, 2, note)
    for name, key_head, counts in (
        ("按月", "月份", s.by_month),
        ("按乡镇", "乡镇", s.by_town),
        ("按代办点", "代办点编码", s.by_village_point),
    ):
        sheet = _sheet(book, name, [key_head, "寄出件数"], [18, 12], f)
        for row, c in enumerate(counts, start=1):
            sheet.write_string(row, 0, c.key or "（未填）")
            sheet.write_number(row, 1, c.count)
    mailed = {
        "部门": {c.key: c.count for c in s.by_department},
        "事项": {c.key: c.count for c in s.by_matter},
    }
    costs = {c.code: c.fen for c in s.costs}
    for name, rows in (("部门", s.departments), ("事项", s.matters)):
        extra = ["寄递费用（元）"] if name == "部门" else []
        head = [f"{name}编码", f"{name}名称", "寄出件数", *TIMES_HEAD, *extra]
        sheet = _sheet(book, f"按{name}", head, [22, 30, 10, *[12] * 8, *[14] * len(extra)], f)
        codes = [r.code for r in rows] + [c for c in mailed[name] if c not in {r.code for r in rows}]
        by_code = {r.code: r for r in rows}
        for row, code in enumerate(codes, start=1):
            r = by_code.get(code)
            sheet.write_string(row, 0, code)
            sheet.write_string(row, 1, r.name if r else _name_of(s, name, code))
            sheet.write_number(row, 2, mailed[name].get(code, 0))
            if r is not None:
                _times(sheet, row, 3, r.handover, f)
                _times(sheet, row, 7, r.delivery, f)
            if extra:
                _number(sheet, row, 11, costs[code] / 100 if code in costs else None, f.yuan)
    sheet = _sheet(book, "部门费用", ["部门编码", "部门名称", "寄递费用（元）"], [22, 30, 16], f)
    for row, c in enumerate(s.costs, start=1):
        sheet.write_string(row, 0, c.code)
        sheet.write_string(row, 1, c.name)
        sheet.write_number(row, 2, c.fen / 100, f.yuan)
    book.close()


def _name_of(s: Statistics, kind: str, code: str) -> str:
    counts = s.by_department if kind == "部门" else s.by_matter
    return next((c.name for c in counts if c.key == code), code)


BREACH_HEAD = ["环节", "案件编号", "运单号", "部门编码", "部门名称", "事项编码", "事项名称", "办结时间",
               "完成时间", "服务时限", "截止时间", "超时（小时）", "当前状态"]  # fmt: skip


def write_breaches(path: Path, breaches: list[Breach], status_text: Callable[[str], str]) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    f = _Formats(book)
    widths = [12, 20, 16, 16, 28, 20, 26, 17, 17, 12, 17, 12, 12]
    sheet = _sheet(book, "超时清单", BREACH_HEAD, widths, f)
    for row, b in enumerate(breaches, start=1):
        i = b.item
        cells = [
            STAGE_TEXT[b.stage], i.case_no, i.waybill_no or "", i.department_code, i.department_name,
            i.matter_code, i.matter_name, cn_time(i.completed_at),
            cn_time(i.done_at) if i.done_at else "仍未完成", b.limit.text, deadline_text(b.deadline),
        ]  # fmt: skip
        for col, text in enumerate(cells):
            sheet.write_string(row, col, text)
        sheet.write_number(row, 11, round(b.over_hours, 1), f.hours)
        sheet.write_string(row, 12, status_text(i.status))
    book.close()


async def stream(request: web.Request, filename: str, write: Callable[[Path], None]) -> web.StreamResponse:
    """Build the workbook in a worker thread into a temporary file and send it in chunks."""
    with tempfile.TemporaryDirectory(prefix="certpost-xlsx-") as tmp:
        path = Path(tmp) / "book.xlsx"
        await asyncio.to_thread(write, path)
        response = web.StreamResponse(
            headers={
                **SECURITY_HEADERS,
                "Content-Type": XLSX,
                "Content-Disposition": f'attachment; filename="{filename}"',
            }
        )
        response.content_length = path.stat().st_size
        await response.prepare(request)
        with path.open("rb") as f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                await response.write(chunk)
        await response.write_eof()
        return response
