"""Reading the monthly EMS statement (CSV in UTF-8/GBK/UTF-16, or XLSX) into lines with amounts in fen.

Row numbers in errors and findings are those Excel shows. Lines with the same content (everything but
the waybill number) share one parsed `LineFields`: a million-line statement holds a few thousand distinct
ones, so each is parsed once and the per-line work is a split and a dictionary look-up.
"""

from __future__ import annotations

import codecs
import csv
import io
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import cells, xlsx, xlsx_guard
from .digits import int_column
from .errors import StatementError
from .statement_layout import FEE_PARTS, Layout, accepted_headers, match_header, missing_headers

Progress = Callable[[int, int | None], None]
HEADER_SEARCH_ROWS = 30
PROGRESS_EVERY = 100_000
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"


class LineFields(NamedTuple):
    """Everything on a statement line but its waybill number and row."""

    accepted_on: date
    province: str
    city: str
    county: str
    weight_g: int
    postage_fen: int
    insurance_fen: int
    other_fen: int
    billed_fen: int


class StatementLine(NamedTuple):
    line_no: int  # the row number Excel shows
    waybill_no: str
    fields: LineFields


@dataclass(frozen=True)
class Statement:
    """The lines as three parallel columns: a million small objects would cost more than the matching."""

    line_nos: Sequence[int]  # the row numbers Excel shows: a range when there is no gap
    waybills: list[str]
    fields: list[LineFields]
    filename: str
    file_format: str  # "csv" | "xlsx"
    encoding: str | None  # of a CSV file
    header_row: int
    declared_total_fen: int | None  # from the totals row, when there is one
    billed_fen: int  # the sum of the lines
    # per line, the index of its fields in distinct_fields (an internal numbering: not compared)
    field_ids: Sequence[int] | None = field(default=None, compare=False)
    distinct_fields: Sequence[LineFields] | None = field(default=None, compare=False)
    # the waybills as ints (matching.int_keys) when the reader could work them out cheaply
    int_waybills: Sequence[int] | None = field(default=None, compare=False, repr=False)

    def field_table(self) -> tuple[Sequence[LineFields], Sequence[int]]:
        """The distinct LineFields objects and, per line, the index of its own among them."""
        if self.field_ids is not None and self.distinct_fields is not None:
            return self.distinct_fields, self.field_ids
        numbering: dict[int, int] = {}
        for i in map(id, self.fields):
            numbering.setdefault(i, len(numbering))
        objects = dict(zip(map(id, self.fields), self.fields, strict=True))
        return [objects[i] for i in numbering], list(map(numbering.__getitem__, map(id, self.fields)))

    @property
    def lines(self) -> list[StatementLine]:
        return [StatementLine(*line) for line in zip(self.line_nos, self.waybills, self.fields, strict=True)]


def read_statement(
    source: bytes | str | Path,
    *,
    filename: str | None = None,
    mapping: Mapping[str, str] | None = None,
    on_progress: Progress | None = None,
    limits: xlsx_guard.Limits | None = None,
) -> Statement:
    """Read a statement file. `mapping` maps logical names (statement_layout.DEFAULT_HEADERS) to headers;
    `limits` caps what an XLSX may inflate to (xlsx_guard)."""
    if isinstance(source, bytes):
        data, name = source, filename or "statement"
    else:
        try:
            data, name = Path(source).read_bytes(), filename or Path(source).name
        except OSError as e:
            raise StatementError(f"无法读取对账单文件：{e.strerror or e}") from None
    try:
        accepted = accepted_headers(mapping)
    except ValueError as e:
        raise StatementError(str(e)) from None
    if data.startswith(_XLS_MAGIC) or (name.lower().endswith(".xls") and not data.startswith(_XLSX_MAGIC)):
        raise StatementError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV")
    if data.startswith(_XLSX_MAGIC):
        return _read_xlsx(data, name, accepted, on_progress, limits or xlsx_guard.DEFAULT_LIMITS)
    return _read_csv(data, name, accepted, on_progress)


# ---- CSV ----------------------------------------------------------------------------------------


def _read_csv(data: bytes, name: str, accepted: dict, on_progress: Progress | None) -> Statement:
    if _gbk_without_quotes(data):
        statement = _read_gbk_bytes(data, name, accepted, on_progress)
        if statement is not None:
            return statement
    text, encoding = _decode(data)
    if "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    lines = text.split("\n")  # a "\r" left at the end of a line is whitespace to every cell parser
    sep, layout = _find_csv_header(lines, accepted)
    collector = _Collector(layout, on_progress, total=_body_rows(lines, layout.header_row))
    body_start = layout.header_row  # index of the first line after the header
    if '"' in text:  # quoted fields (commas or newlines inside cells): the csv module's job
        records = csv.reader(io.StringIO("\n".join(lines[body_start:])), delimiter=sep)
        collector.rows(enumerate(records, start=body_start + 1))
    elif layout.columns["waybill_no"] == 0:
        _fast_rows(collector, lines, body_start, sep)
    else:
        collector.rows((i + 1, lines[i].split(sep)) for i in range(body_start, len(lines)))
    return collector.statement(name, "csv", encoding)


def _body_rows(lines: list[str] | list[bytes], header_row: int) -> int:
    """The rows below the header, without the blank lines at the end (a final line break leaves one)."""
    end = len(lines)
    while end > header_row and not lines[end - 1].strip():
        end -= 1
    return end - header_row


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as e:
        row = data.count(b"\n", 0, e.start) + 1
        raise StatementError("文件编码无法识别（既不是 UTF-8 也不是 GBK）", row=row) from None


def _find_csv_header(lines: list[str], accepted: dict) -> tuple[str, Layout]:
    for i, line in enumerate(lines[:HEADER_SEARCH_ROWS]):
        for sep in (",", "\t", ";"):
            if sep in line:
                layout = match_header(next(csv.reader([line], delimiter=sep)), accepted, i + 1)
                if layout:
                    return sep, layout
    raise StatementError(f"前 {HEADER_SEARCH_ROWS} 行中找不到表头（需要列：{missing_headers(accepted)}）")


def _fast_rows(collector: _Collector, lines: list[str], start: int, sep: str) -> None:
    """The common case: no quoting, waybill in the first column. Same results as `_Collector.rows`.

    A chunk whose waybills are all plain digits goes through C-level map/dict calls only; each distinct
    rest of line (everything after the waybill) is parsed once. Other chunks go row by row.
    """
    end = len(lines)
    while end > start and not _plain_waybill(lines[end - 1].partition(sep)[0]):
        end -= 1  # the totals row, notes and blank lines at the bottom
    split = methodcaller("partition", sep)
    for chunk_start in range(start, end, PROGRESS_EVERY):
        chunk_end = min(end, chunk_start + PROGRESS_EVERY)
        parts = list(map(split, lines[chunk_start:chunk_end]))
        waybills = list(map(itemgetter(0), parts))
        if not (all(map(str.isascii, waybills)) and all(map(str.isdigit, waybills))):
            collector.rows((i + 1, lines[i].split(sep)) for i in range(chunk_start, chunk_end))
            continue
        rests = list(map(itemgetter(2), parts))
        for rest in dict.fromkeys(rests).keys() - collector.cache.keys():
            row = collector.padded([None, *rest.split(sep)])
            try:
                collector.parse_fields(0, row, rest)
            except StatementError:  # parse again, knowing the row number for the message
                collector.parse_fields(chunk_start + 1 + rests.index(rest), row, rest)
        collector.extend(range(chunk_start + 1, chunk_end + 1), waybills, rests)
        collector.progress(chunk_end - start)
    collector.rows((i + 1, lines[i].split(sep)) for i in range(end, len(lines)))


def _gbk_without_quotes(data: bytes) -> bool:
    """No BOM, no quoting, "\n" line ends, and not UTF-8 (which fails within the first lines of Chinese):
    a GBK file that can be read without decoding all of it."""
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b'"' in data or b"\n" not in data:
        return False
    head = data[: 1 << 16]
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start < len(head) - 4  # not a character cut by the slice
    return False


class _Fallback(Exception):
    """The bytes reader met something only the text reader words right: an error, or odd rows."""


def _read_gbk_bytes(data: bytes, name: str, accepted: dict, on_progress: Progress | None) -> Statement | None:
    """`_read_csv` + `_fast_rows` on the undecoded GBK bytes, or None to let them read the file.

    "\n", ",", "\t", ";" and '"' never occur inside a GBK/GB18030 character, so splitting the bytes
    cuts where splitting the text would. Waybills of ASCII digits are the same in bytes, and each distinct
    rest of line is decoded once: every byte of the file is decoded, so a file that is not GBK falls
    back (and the text reader raises its error, with the row).
    """
    lines = data.split(b"\n")
    try:
        head = [line.decode("gb18030") for line in lines[:HEADER_SEARCH_ROWS]]
    except UnicodeDecodeError:
        return None
    try:
        sep, layout = _find_csv_header(head, accepted)
    except StatementError:
        return None
    if layout.columns["waybill_no"] != 0:
        return None
    try:
        for line in lines[: layout.header_row]:
            line.decode("gb18030")
        return _gbk_rows(lines, layout, sep, on_progress).statement(name, "csv", "gbk")
    except (_Fallback, StatementError, UnicodeDecodeError):
        return None


def _gbk_rows(lines: list[bytes], layout: Layout, sep: str, on_progress: Progress | None) -> _Collector:
    collector = _Collector(layout, on_progress, total=_body_rows(lines, layout.header_row))

    def parse(rest: bytes) -> None:  # an error: the text reader words it, with the row
        collector.parse_fields(0, collector.padded([None, *rest.decode("gb18030").split(sep)]), rest)

    collector.cache_ids = _Numbering(parse)
    ints: list[np.ndarray | None] | None = []  # the waybills as ints while every chunk has them
    start, end, bsep = layout.header_row, len(lines), sep.encode()
    while end > start and not lines[end - 1].partition(bsep)[0].isdigit():
        end -= 1  # the totals row, notes and blank lines at the bottom
    for chunk_start in range(start, end, PROGRESS_EVERY):
        chunk_end = min(end, chunk_start + PROGRESS_EVERY)
        digits, rests = _cut_first_cells(lines[chunk_start:chunk_end], bsep)
        if b"\n\n" in digits or digits.startswith(b"\n") or digits.endswith(b"\n"):
            raise _Fallback  # an empty waybill
        if not digits.replace(b"\n", b"").isdigit():
            raise _Fallback  # a line without a plain waybill (bytes.isdigit is ASCII only)
        waybills = digits.decode("ascii").split("\n")
        if ints is not None:
            ints.append(int_column(digits, len(waybills)))
            ints = None if ints[-1] is None else ints
        collector.extend(range(chunk_start + 1, chunk_end + 1), waybills, rests)
        collector.progress(chunk_end - start)
    collector.rows((i + 1, lines[i].decode("gb18030").split(sep)) for i in range(end, len(lines)))
    if ints and sum(map(len, ints)) == len(collector.waybills):
        collector.int_waybills = array("q", np.concatenate(ints).tobytes())
    return collector


def _cut_first_cells(lines: list[bytes], sep: bytes) -> tuple[bytes, list[bytes]]:
    """Each line's first cell, joined by "\n", and the rest of each line after the separator."""
    width = lines[0].find(sep)
    try:
        same_width = width > 0 and bytes(map(itemgetter(width), lines)) == sep * len(lines)
    except IndexError:  # a line shorter than the first waybill
        same_width = False
    if same_width:  # waybills of one length, as usual: slicing costs less than partitioning
        heads = b"\n".join(map(itemgetter(slice(width)), lines))
        return heads, list(map(itemgetter(slice(width + 1, None)), lines))
    parts = list(map(methodcaller("partition", sep), lines))
    return b"\n".join(map(itemgetter(0), parts)), list(map(itemgetter(2), parts))


def _plain_waybill(cell: str) -> bool:
    return cell.isascii() and cell.isdigit()


# ---- XLSX ---------------------------------------------------------------------------------------


def _read_xlsx(
    data: bytes, name: str, accepted: dict, on_progress: Progress | None, limits: xlsx_guard.Limits
) -> Statement:
    """calamine (Rust) reads the first worksheet, once xlsx_guard has let the archive through and every
    sheet's grid is within the caps (calamine builds the whole grid before the first row is seen)."""
    archive = xlsx_guard.open_checked(data, limits)
    xlsx_guard.check_sheet_areas(archive, limits)
    sheet = xlsx.first_sheet(data, archive.namelist())
    return _collect_xlsx(sheet.rows(), sheet.max_row, name, accepted, on_progress)


def _collect_xlsx(
    sheet_rows: Iterable[Sequence[object]],
    max_row: int | None,
    name: str,
    accepted: dict,
    on_progress: Progress | None,
) -> Statement:
    rows = enumerate(sheet_rows, start=1)
    layout = None
    for row_no, row in rows:
        layout = match_header(row, accepted, row_no)
        if layout or row_no >= HEADER_SEARCH_ROWS:
            break
    if not layout:
        raise StatementError(f"前 {HEADER_SEARCH_ROWS} 行中找不到表头（需要列：{missing_headers(accepted)}）")
    total = max_row - layout.header_row if max_row else None
    collector = _Collector(layout, on_progress, total=total)
    collector.rows(rows)
    return collector.statement(name, "xlsx", None)


# ---- rows to lines ------------------------------------------------------------------------------


class _Numbering(dict):
    """Key -> index of its LineFields, parsing a key it lacks: hits stay in C when looked up through map()."""

    def __init__(self, parse: Callable[[object], None]):
        super().__init__()
        self.parse = parse

    def __missing__(self, key):
        self.parse(key)
        return self[key]


class _Collector:
    def __init__(self, layout: Layout, on_progress: Progress | None, total: int | None):
        self.layout = layout
        self.on_progress, self.total = on_progress, total
        self.line_nos: list[int] | range = range(0)
        self.waybills: list[str] = []
        self.fields: list[LineFields] = []
        self.field_ids: list[int] = []
        self.distinct: list[LineFields] = []
        self.cache: dict[object, LineFields] = {}
        self.cache_ids: dict[object, int] = {}
        self.declared_total_fen: int | None = None
        self.int_waybills: array | None = None
        self.end_row: int | None = None  # the totals row; any line after it is an error
        self.end_labelled = False
        self.waybill_col = layout.columns["waybill_no"]
        self.other_cols = tuple(i for n, i in sorted(layout.columns.items()) if n != "waybill_no")
        self.width = max(layout.columns.values()) + 1

    def rows(self, rows: Iterable[tuple[int, Sequence[object]]]) -> None:
        done = 0
        for row_no, row in rows:
            self.row(row_no, row)
            done += 1
            if done % PROGRESS_EVERY == 0:
                self.progress(done)

    def padded(self, row: Sequence[object]) -> Sequence[object]:
        return row if len(row) >= self.width else [*row, *([None] * (self.width - len(row)))]

    def row(self, row_no: int, row: Sequence[object]) -> None:
        row = self.padded(row)
        raw = row[self.waybill_col]
        if cells.is_total_label(raw):
            waybill_no = ""
        elif self.end_row is not None:  # below the totals row: notes ("制表人：…") are fine, lines are not
            try:
                waybill_no = cells.waybill(raw)
            except ValueError:
                return
        else:
            waybill_no = self._cell(cells.waybill, raw, row_no, "waybill_no")
        if not waybill_no:
            if self.end_row is None:
                self._maybe_totals(row_no, row)
            return
        if self.end_row is not None:
            column = self.layout.title("waybill_no")
            if self.end_labelled:
                raise StatementError(f"明细行位于第 {self.end_row} 行合计行之后", row=row_no, column=column)
            raise StatementError("为空", row=self.end_row, column=column)
        key = tuple(row[i] for i in self.other_cols)
        fields = self.cache.get(key) or self.parse_fields(row_no, row, key)
        if type(self.line_nos) is range:
            self.line_nos = list(self.line_nos)
        self.line_nos.append(row_no)
        self.waybills.append(waybill_no)
        self.fields.append(fields)
        self.field_ids.append(self.cache_ids[key])

    def extend(self, line_nos: range, waybills: list[str], keys: list) -> None:
        """Lines whose other cells were parsed already, each under its key (see parse_fields)."""
        if self.end_row is not None and waybills:
            raise StatementError("为空", row=self.end_row, column=self.layout.title("waybill_no"))
        ids = list(map(self.cache_ids.__getitem__, keys))
        numbered = self.line_nos
        if type(numbered) is range and (not numbered or numbered.stop == line_nos.start):
            self.line_nos = range(numbered.start if numbered else line_nos.start, line_nos.stop)
        else:
            if type(numbered) is range:
                self.line_nos = numbered = list(numbered)
            numbered.extend(line_nos)
        self.waybills.extend(waybills)
        self.field_ids.extend(ids)
        self.fields.extend(map(self.distinct.__getitem__, ids))

    def _maybe_totals(self, row_no: int, row: Sequence[object]) -> None:
        """A row without a waybill ends the lines: the totals row, labelled 合计/总计 or not."""
        if all(cells.text(v) == "" for v in row):
            return
        billed = row[self.layout.columns["billed_fen"]]
        try:
            self.declared_total_fen = cells.fen(billed) if cells.text(billed) else None
        except ValueError:
            self.declared_total_fen = None
        self.end_row = row_no
        self.end_labelled = any(cells.is_total_label(v) for v in row)

    def parse_fields(self, row_no: int, row: Sequence[object], key: object) -> LineFields:
        col = self.layout.columns

        def value(name: str, parse: Callable[[object], object], default: object = None) -> object:
            if name not in col:
                return default
            return self._cell(parse, row[col[name]], row_no, name)

        parts = [value(name, cells.fen, 0) for name in FEE_PARTS]
        billed_raw = row[col["billed_fen"]]
        if cells.text(billed_raw) == "" and any(name in col for name in FEE_PARTS):
            billed = sum(parts)  # 应收合计 left empty: the sum of the fees beside it
        elif cells.text(billed_raw) == "":
            raise StatementError("为空", row=row_no, column=self.layout.title("billed_fen"))
        else:
            billed = value("billed_fen", cells.fen)
        fields = LineFields(
            value("accepted_on", cells.day),
            *(value(name, cells.text, "") for name in ("province", "city", "county")),
            value("weight_g", cells.grams),
            *parts,
            billed,
        )
        self.cache[key] = fields
        self.cache_ids[key] = len(self.distinct)
        self.distinct.append(fields)
        return fields

    def _cell(self, parse: Callable[[object], object], raw: object, row_no: int, name: str):
        if isinstance(raw, str):
            raw = raw.strip()  # also the "\r" a CRLF file leaves on the last cell, which messages would show
        try:
            return parse(raw)
        except ValueError as e:
            raise StatementError(str(e), row=row_no, column=self.layout.title(name)) from None

    def progress(self, done: int) -> None:
        if self.on_progress:
            self.on_progress(done, self.total)

    def statement(self, name: str, file_format: str, encoding: str | None) -> Statement:
        if not self.waybills:
            raise StatementError("对账单中没有任何明细行")
        billed = sum(map(itemgetter(8), self.fields))
        if self.on_progress:  # the end: the lines read, as the report counts them (no totals row)
            self.on_progress(len(self.waybills), len(self.waybills))
        line_nos = self.line_nos
        if line_nos[-1] - line_nos[0] == len(line_nos) - 1:  # rows only grow: no gap, a range
            line_nos = range(line_nos[0], line_nos[-1] + 1)
        return Statement(
            line_nos,
            self.waybills,
            self.fields,
            name,
            file_format,
            encoding,
            self.layout.header_row,
            self.declared_total_fen,
            billed,
            self.field_ids,
            self.distinct,
            self.int_waybills,
        )
