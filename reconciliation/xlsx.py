"""A streaming reader of the first worksheet of an .xlsx file: zipfile + lxml iterparse, no openpyxl objects.

It yields the same rows as openpyxl's `load_workbook(read_only=True, data_only=True)` with
`iter_rows(values_only=True)` (numbers as int or float, shared and inline strings, dates by cell style as
datetime, booleans, cached formula results, gaps filled with None, rows cut at the sheet's dimension), at a
fraction of the cost. Anything it does not expect raises `Unsupported` before a row is produced or while
rows stream; the caller then reads the file again with openpyxl.

The archive comes checked by xlsx_guard (sizes, ratios, no DTD); every part is read through its caps,
and rows and columns are capped as they stream: a cell at a time, so a row of two million cells is
refused at its 101st, before it is built. Those refusals are StatementErrors, never Unsupported: the
fallback must not be a way around them.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from typing import IO

from lxml import etree
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel, from_ISO8601

from . import xlsx_guard
from .errors import StatementError
from .xlsx_guard import DEFAULT_LIMITS, Limits

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_WORKBOOK = "xl/workbook.xml"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}Override"
_ROW, _CELL, _V, _IS, _T, _R, _SI = (MAIN + n for n in ("row", "c", "v", "is", "t", "r", "si"))
_DIGITS = "0123456789"
_CHUNK = 64 * 1024  # fed to the parser at a time; a row is measured after each
_PARSER_OPTIONS = xlsx_guard.PARSER_OPTIONS


class Unsupported(Exception):
    """A file this reader does not handle exactly like openpyxl: read it with openpyxl instead."""


class Sheet:
    """The first worksheet of a workbook. `max_row` is from the sheet's dimension (None without one)."""

    def __init__(self, archive: zipfile.ZipFile | bytes | IO[bytes], limits: Limits = DEFAULT_LIMITS):
        if not isinstance(archive, zipfile.ZipFile):  # the file itself: checked here
            data = archive if isinstance(archive, bytes) else archive.read()
            archive = xlsx_guard.open_checked(data, limits)
        self.archive, self.limits = archive, limits
        try:
            self._open()
        except (Unsupported, StatementError):
            raise
        except Exception as e:  # anything odd: openpyxl decides, and words its own error
            raise Unsupported(repr(e)) from None

    def _open(self) -> None:
        names = set(self.archive.namelist())
        types = self._xml("[Content_Types].xml")
        parts = {o.get("ContentType", ""): o.get("PartName", "") for o in types.iter(_CT)}
        workbook_parts = [p for t, p in parts.items() if t.endswith(("sheet.main+xml", "template.main+xml"))]
        if workbook_parts != ["/" + _WORKBOOK]:
            raise Unsupported("workbook part")
        workbook = self._xml(_WORKBOOK)
        if workbook.tag != MAIN + "workbook":
            raise Unsupported(workbook.tag)
        props = workbook.find(MAIN + "workbookPr")
        date1904 = props is not None and props.get("date1904") in ("1", "true")
        self.epoch = CALENDAR_MAC_1904 if date1904 else WINDOWS_EPOCH
        rels = {
            r.get("Id"): (r.get("Type", ""), r.get("Target", ""))
            for r in self._xml("xl/_rels/workbook.xml.rels").iter(_PKG_REL)
        }
        path = None
        for sheet in workbook.iter(MAIN + "sheet"):
            kind, target = rels[sheet.get(_REL)]
            if kind.endswith("/worksheet"):
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
                break
            if not kind.endswith("/chartsheet"):
                raise Unsupported(kind)
        if path is None or path not in names:
            raise xlsx_guard.refused("找不到工作表")
        self.path = path
        strings_parts = [p for t, p in parts.items() if t.endswith("sharedStrings+xml")]
        self.shared = self._shared_strings(strings_parts[0].lstrip("/")) if strings_parts else []
        self.date_styles, self.timedelta_styles = self._styles()
        self.min_col, self.min_row, self.max_col, self.max_row = self._dimension()
        self._columns: dict[str, int] = {}  # "AB" -> 28
        self._numbers: dict[tuple[str, int], object] = {}  # (text, style) -> value: few distinct ones

    def _xml(self, name: str):
        data = xlsx_guard.read_capped(self.archive, name, self.limits)
        return etree.fromstring(data, etree.XMLParser(**_PARSER_OPTIONS))

    def _open_part(self, name: str):
        return xlsx_guard.capped(self.archive, name, self.limits)

    def _shared_strings(self, name: str) -> list[str]:
        strings = []
        cap = self.limits.max_shared_strings
        with self._open_part(name) as src:
            for _, si in etree.iterparse(src, tag=_SI, **_PARSER_OPTIONS):
                strings.append(_text(si).replace("x005F_", ""))
                si.clear()
                while si.getprevious() is not None:
                    del si.getparent()[0]
                if len(strings) > cap:
                    raise xlsx_guard.refused(f"{name} 的字符串超过 {cap} 个")
        return strings

    def _styles(self) -> tuple[set[int], set[int]]:
        """The cell styles openpyxl reads as dates and as durations (Stylesheet._normalise_numbers)."""
        styles = self._xml("xl/styles.xml")
        custom = {
            int(f.get("numFmtId")): f.get("formatCode")
            for f in styles.iterfind(f"{MAIN}numFmts/{MAIN}numFmt")
        }
        xfs = styles.findall(f"{MAIN}cellXfs/{MAIN}xf")
        if not xfs:
            raise Unsupported("no cell styles")  # openpyxl keeps its defaults then
        dates, durations = set(), set()
        for i, xf in enumerate(xfs):
            number_format = int(xf.get("numFmtId", 0))
            fmt = custom[number_format] if number_format in custom else builtin_format_code(number_format)
            if is_date_format(fmt):
                dates.add(i)
            if is_timedelta_format(fmt):
                durations.add(i)
        return dates, durations

    def _dimension(self) -> tuple[int, int, int | None, int | None]:
        with self._open_part(self.path) as src:
            for _, element in etree.iterparse(src, events=("start",), **_PARSER_OPTIONS):
                if element.tag == MAIN + "dimension":
                    min_col, min_row, max_col, max_row = bounds = range_boundaries(element.get("ref"))
                    if None in bounds:
                        raise Unsupported("dimension")
                    if max_row > self.limits.max_rows:
                        raise xlsx_guard.too_many_rows(self.path, self.limits)
                    # rows are as wide as the dimension: a formatted column XFD would make each 16,384
                    # cells; no column past the cap holds a value (the rows refuse it), so cut there
                    return min_col, min_row, min(max_col, self.limits.max_columns), max_row
                if element.tag == MAIN + "sheetData":
                    break
        return 1, 1, None, None

    def rows(self) -> Iterator[tuple]:
        """Every row from row 1, as iter_rows(values_only=True) yields them."""
        max_row, max_col = self.max_row, self.max_col
        empty = (None,) * max_col if max_col is not None else ()
        counter = 1
        row_no = 1
        for row_no, cells in self._parsed_rows():
            if max_row is not None and row_no > max_row:
                break
            while counter < row_no:  # rows missing from the file
                counter += 1
                yield empty
            if counter <= row_no:
                counter += 1
                yield self._values(cells, max_col)
        if max_row is not None and max_row < row_no:
            for _ in range(counter, max_row + 1):
                yield empty

    @staticmethod
    def _values(cells: list[tuple[int, object]], max_col: int | None) -> tuple:
        if not cells and not max_col:
            return ()
        width = max_col or cells[-1][0]
        row = [None] * width
        for column, value in cells:
            if 1 <= column <= width:
                row[column - 1] = value
        return tuple(row)

    def _parsed_rows(self) -> Iterator[tuple[int, list[tuple[int, object]]]]:
        try:
            yield from self._cells_by_row()
        except etree.XMLSyntaxError as e:
            raise xlsx_guard.refused(f"{self.path} 不是有效的 XML（{e}）") from None
        except (IndexError, KeyError, ValueError, OverflowError) as e:  # e.g. a shared string out of range
            raise Unsupported(repr(e)) from None

    def _cells_by_row(self) -> Iterator[tuple[int, list[tuple[int, object]]]]:
        """(row number, [(column, value)]) per row. The sheet is fed to the parser in chunks, and after
        each the row being built is measured: a row of millions of cells is refused within a chunk of
        its start, before it is built."""
        max_rows, max_columns = self.limits.max_rows, self.limits.max_columns
        parser = etree.XMLPullParser(events=("start", "end"), tag=_ROW, **_PARSER_OPTIONS)
        building = None  # the row whose start was seen and whose end was not
        row_counter = 0
        with self._open_part(self.path) as src:
            while chunk := src.read(_CHUNK):
                parser.feed(chunk)
                for event, row in parser.read_events():
                    if event == "start":
                        building = row
                        continue
                    building = None
                    r = row.get("r")
                    if r is None:
                        row_counter += 1
                    else:
                        try:
                            row_counter = int(r)
                        except ValueError:
                            raise Unsupported(f"row {r}") from None
                    if row_counter > max_rows:
                        raise xlsx_guard.too_many_rows(self.path, self.limits)
                    if len(row) > max_columns:
                        raise xlsx_guard.too_many_columns(self.path, row_counter, self.limits)
                    cells = self._cells(row)
                    row.clear()
                    while row.getprevious() is not None:
                        del row.getparent()[0]
                    yield row_counter, cells
                if building is not None and len(building) > max_columns:
                    row_no = building.get("r") or row_counter + 1
                    raise xlsx_guard.too_many_columns(self.path, row_no, self.limits)
            parser.close()

    def _cells(self, row) -> list[tuple[int, object]]:
        shared, dates, durations, epoch = self.shared, self.date_styles, self.timedelta_styles, self.epoch
        columns, numbers = self._columns, self._numbers
        col_counter = 0
        cells = []
        for c in row:
            if c.tag != _CELL:
                raise Unsupported(c.tag)
            ref = c.get("r")
            if ref:
                letters = ref.rstrip(_DIGITS)
                column = columns.get(letters)
                if column is None:
                    if not (letters.isascii() and letters.isalpha() and letters.isupper()):
                        raise Unsupported(f"cell {ref}")
                    column = columns[letters] = column_index_from_string(letters)
                col_counter = column
            else:
                col_counter += 1
                column = col_counter
            if column > self.limits.max_columns:
                raise xlsx_guard.too_many_columns(self.path, row.get("r") or "?", self.limits)
            kind = c.get("t", "n")
            if kind == "inlineStr":
                child = c.find(_IS)
                value = _text(child) if child is not None else None
            else:
                value = c.findtext(_V) or None
                if value is None:
                    pass
                elif kind == "n":
                    style = int(c.get("s") or 0)
                    key = (value, style)
                    cached = numbers.get(key, numbers)
                    if cached is numbers:
                        cached = numbers[key] = _number(value, style, dates, durations, epoch)
                    value = cached
                elif kind == "s":
                    value = shared[int(value)]
                elif kind == "b":
                    value = bool(int(value))
                elif kind == "d":
                    value = from_ISO8601(value)
                elif kind not in ("str", "e"):
                    raise Unsupported(f"cell type {kind}")
            cells.append((column, value))
        return cells


def _number(text: str, style: int, dates: set[int], durations: set[int], epoch) -> object:
    value = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
    if style in dates:
        try:
            return from_excel(value, epoch, timedelta=style in durations)
        except (OverflowError, ValueError):
            raise Unsupported("date out of range") from None  # openpyxl warns and reads "#VALUE!"
    return value


def _text(element) -> str:
    """Text.content of a shared or inline string: the plain <t> and the <t> of each rich-text run."""
    parts = []
    for child in element:
        if child.tag == _T:
            if child.text is not None:
                parts.append(child.text)
        elif child.tag == _R:
            t = child.find(_T)
            if t is not None and t.text is not None:
                parts.append(t.text)
    return "".join(parts)
