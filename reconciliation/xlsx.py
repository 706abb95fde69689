"""The first worksheet of an .xlsx statement, read by calamine (python-calamine, Rust).

Rows come from row 1 and column A as Excel numbers them (calamine's rows start at row 1, its cells at
the first used column, so the cells before it are put back as empty), with empty cells as "" and
numbers as floats, dates by cell style as date/datetime; the statement's cell parsers (cells.py) take
those as they take openpyxl's. The archive has been checked by xlsx_guard first (sizes, ratios, no
DTD, the grid's area): calamine builds the whole grid in memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum

from . import xlsx_guard
from .errors import StatementError


class Sheet:
    """A worksheet's rows; `max_row` is its last used row."""

    def __init__(self, sheet):
        self.sheet = sheet
        start, end = sheet.start, sheet.end
        self.first_row, self.first_col = start if start is not None else (0, 0)
        self.max_row = end[0] + 1 if end is not None else 0

    def rows(self) -> Iterator[list]:
        pad = [""] * self.first_col
        if pad:
            for row in self.sheet.iter_rows():
                yield pad + row
        else:
            yield from self.sheet.iter_rows()


def first_sheet(data: bytes, names: Iterable[str] = ()) -> Sheet:
    """The first worksheet (chart sheets skipped); StatementError for a file calamine cannot read.
    `names`: the archive's members, to word a missing worksheet as such."""
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        for index, meta in enumerate(book.sheets_metadata):
            if meta.typ == SheetTypeEnum.WorkSheet:
                return Sheet(book.get_sheet_by_index(index))
    except (CalamineError, ValueError, OSError) as e:
        if not any(n.startswith("xl/worksheets/") for n in names):
            raise xlsx_guard.refused("找不到工作表") from None
        raise StatementError(f"不是有效的 .xlsx 文件（{_reason(e)}）") from None
    raise xlsx_guard.refused("找不到工作表")


def _reason(e: Exception) -> str:
    return " ".join(str(e).split())[:200] or type(e).__name__
