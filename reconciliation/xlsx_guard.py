"""Checks on an uploaded .xlsx before any parser reads it, and caps that hold while it is read.

An .xlsx is a ZIP of XML parts, so a small upload can stand for gigabytes (a styles.xml that inflates
1000:1), for millions of cells in one row, or for an XML entity bomb. Whatever reads the sheet
(calamine, in xlsx.py), it first goes through `open_checked`, which refuses, before anything is
inflated for real:

- a file that is not a ZIP, or whose directory lists too many members;
- a member whose declared size is over the cap, a total over the cap, or a large member that compresses
  better than any spreadsheet does (the ratio cap);
- an encrypted member;
- an XML part with a document type declaration (DTD, entities: "billion laughs"), looked for in the
  part's prolog, the only place an XML parser accepts one.

Declared sizes can lie: `capped` reads a member in chunks and stops at its declared size and at the
cap. calamine builds a sheet's whole grid, from its first used cell to its last, before the first row
is seen: `check_sheet_areas` (run next) holds every cell within `Limits.max_rows` and
`Limits.max_columns`, the shared strings within their cap, and the grid to a few times the cells in it.

Every refusal is a StatementError whose message says what is wrong, e.g.
"XLSX 文件异常：xl/styles.xml 解压后超过 200 MB".
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree

from .errors import StatementError

MB = 1024 * 1024
_EOCD = b"PK\x05\x06"
_EOCD_STRUCT = struct.Struct("<4s4H2LH")  # signature, disk numbers, entries here, entries, size, offset
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _CELL = _MAIN + "row", _MAIN + "c"
# No DTD is ever loaded, no entity resolved, nothing fetched: the prolog check refuses DTDs anyway.
PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


@dataclass(frozen=True)
class Limits:
    """Caps on what an .xlsx may inflate to. The defaults fit any real monthly statement."""

    max_uncompressed_bytes: int = 200 * MB  # a worksheet or the shared strings, and all members together
    max_part_bytes: int = 20 * MB  # any other part (styles, workbook, relationships …): read whole
    max_ratio: int = 100  # inflated / compressed, for members over ratio_floor_bytes
    ratio_floor_bytes: int = 1 * MB  # small parts (an empty sheet, a theme) may compress better
    max_members: int = 1_000
    max_rows: int = 2_000_000
    max_columns: int = 100  # cells in a row, and the last column any cell may be in
    max_shared_strings: int = 2_100_000  # a text waybill per line, and the few other texts
    max_prolog_bytes: int = 64 * 1024  # the XML declaration, comments, … before the root element


DEFAULT_LIMITS = Limits()


def refused(reason: str) -> StatementError:
    return StatementError(f"XLSX 文件异常：{reason}")


def _mb(n: int) -> str:
    return f"{n / MB:g} MB"


def open_checked(data: bytes, limits: Limits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """The archive, once every check above holds; else StatementError naming what is wrong."""
    _check_directory_size(data, limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as e:
        raise refused(f"不是有效的 .xlsx 文件（不是 ZIP 压缩包：{e}）") from None
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise refused(f"压缩包内文件过多（{len(members)} 个，上限 {limits.max_members} 个）")
    total = 0
    for member in members:
        name = member.filename
        if member.flag_bits & 0x1:
            raise refused(f"{name} 已加密，无法读取")
        cap = _cap_for(name, limits)
        if member.file_size > cap:
            raise refused(f"{name} 解压后超过 {_mb(cap)}")
        total += member.file_size
        if total > limits.max_uncompressed_bytes:
            raise refused(f"解压后总大小超过 {_mb(limits.max_uncompressed_bytes)}")
    for member in members:
        if member.file_size > limits.ratio_floor_bytes:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > limits.max_ratio:
                raise refused(f"{member.filename} 压缩比异常（{ratio:.0f}:1，上限 {limits.max_ratio}:1）")
    for member in members:
        if not member.is_dir():
            _check_prolog(archive, member, limits)
    return archive


def _cap_for(name: str, limits: Limits) -> int:
    """Sheets and shared strings grow with the statement; every other part is small and read whole."""
    base = name.rsplit("/", 1)[-1].lower()
    if name.startswith("xl/worksheets/") or base.startswith("sharedstrings"):
        return limits.max_uncompressed_bytes
    return min(limits.max_part_bytes, limits.max_uncompressed_bytes)


def _check_directory_size(data: bytes, limits: Limits) -> None:
    """The member count from the end-of-directory record: zipfile would build an object per member
    (millions fit in an upload) before the count could be checked."""
    at = data.rfind(_EOCD, max(0, len(data) - 22 - 0xFFFF))
    if at < 0 or len(data) - at < _EOCD_STRUCT.size:
        return  # not a ZIP: zipfile words that
    entries = _EOCD_STRUCT.unpack_from(data, at)[4]
    if entries > limits.max_members:  # 0xFFFF: a ZIP64 directory, more than any workbook has
        raise refused(f"压缩包内文件过多（{entries} 个，上限 {limits.max_members} 个）")


class _Capped(io.RawIOBase):
    """A member read in chunks that stops at its declared size and at the cap, whatever it inflates to."""

    def __init__(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits):
        self.name = member.filename
        self.cap = _cap_for(member.filename, limits)
        self.limit = min(member.file_size, self.cap)
        self.done = 0
        try:
            self.src = archive.open(member)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError) as e:
            raise refused(f"{self.name} 已损坏或无法解压（{e}）") from None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def read(self, size: int = -1) -> bytes:
        want = self.limit - self.done + 1 if size is None or size < 0 else size
        try:
            chunk = self.src.read(want)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, zlib.error) as e:
            raise refused(f"{self.name} 已损坏或无法解压（{e}）") from None
        self.done += len(chunk)
        if self.done > self.limit:
            if self.done > self.cap:
                raise refused(f"{self.name} 解压后超过 {_mb(self.cap)}")
            raise refused(f"{self.name} 解压后比压缩包记录的大小更大")
        return chunk

    def close(self) -> None:
        self.src.close()
        super().close()


def capped(archive: zipfile.ZipFile, name: str, limits: Limits = DEFAULT_LIMITS) -> _Capped:
    try:
        member = archive.getinfo(name)
    except KeyError:
        raise refused(f"缺少 {name}") from None
    return _Capped(archive, member, limits)


def read_capped(archive: zipfile.ZipFile, name: str, limits: Limits = DEFAULT_LIMITS) -> bytes:
    with capped(archive, name, limits) as src:
        return src.read()


_ROOT_START = re.compile(rb"<[^?!]")  # the root element: neither "<?…?>" nor "<!…>"
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _check_prolog(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: Limits) -> None:
    """No DTD in an XML part. A document type declaration may only stand before the root element, so
    the part's first bytes tell; a part that does not start like XML is not read as XML by anyone."""
    with capped(archive, member.filename, limits) as src:
        head = src.read(limits.max_prolog_bytes)
    text = _ascii_view(head)
    if not text.lstrip(b" \t\r\n").startswith(b"<"):
        return  # not XML (an image, a binary part)
    root = _ROOT_START.search(text)
    prolog = text if root is None else text[: root.start()]
    if _DTD.search(prolog):
        raise refused(f"{member.filename} 含有 DTD/实体声明，不予读取")
    if root is None and len(head) >= limits.max_prolog_bytes:
        raise refused(f"{member.filename} 的 XML 开头部分过长")


def _ascii_view(head: bytes) -> bytes:
    """The bytes with a UTF-8/UTF-16 byte order mark or UTF-16 encoding undone, ASCII kept."""
    if head.startswith(b"\xef\xbb\xbf"):
        return head[3:]
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[2:].decode(codec, "ignore").encode("ascii", "ignore")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", "ignore").encode("ascii", "ignore")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", "ignore").encode("ascii", "ignore")
    return head


# ---- rows and columns -----------------------------------------------------------------------------


def too_many_rows(name: str, limits: Limits) -> StatementError:
    return refused(f"{name} 超过 {limits.max_rows} 行")


def too_many_columns(name: str, row: int, limits: Limits) -> StatementError:
    return refused(f"{name} 第 {row} 行超过 {limits.max_columns} 列")


def check_sheet_shapes(archive: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS) -> None:
    """Every worksheet within the row and column caps, read streaming (a cell at a time, nothing kept):
    run before a reader that builds whole rows or sheets in memory gets the file."""
    for name in archive.namelist():
        if name.lower().endswith(".xml"):  # any part a reader may take for a sheet; others have no rows
            _check_shape(archive, name, limits)


def check_sheet_areas(archive: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS) -> None:
    """Before a reader that builds the whole sheet as a grid (calamine: rows × columns from the first used
    cell to the last) gets the file: every cell within the row and column caps, and a grid not much
    larger than the cells in it (a cell at A1 and one at CV2000000 would make 200 million).

    Where every cell carries its reference (Excel, WPS and every library we know write one), the
    references are read with a regular expression over the inflated XML, a few times faster than a
    parser; a part with a cell without one is checked by `check_sheet_shapes`, cell by cell."""
    for name in archive.namelist():
        if name.lower().endswith(".xml") and not _check_area_fast(archive, name, limits):
            _check_shape(archive, name, limits)


# The markup Excel, WPS and the libraries write: unprefixed tags, each row and each cell with its
# reference as its first attribute. Text in XML escapes "<", so only markup matches; a part written any
# other way is left to the cell-by-cell check. The scans look for what would break a bound found so
# far (a cell beyond the last row, a column beyond the widest), so a usual sheet is read at memory speed.
_CELL_COLUMN = re.compile(rb'<c r="([A-Z]+)[0-9]+"')
_ROW_NUMBER = re.compile(rb'<row r="([0-9]+)"')
_DIMENSION = re.compile(rb'<dimension ref="[^"]*?([0-9]+)"')
_PREFIXED = re.compile(rb":(?:c|row|dimension|si)[\s/>]")
_ODD_TAG = re.compile(rb"<(?:c|row)[>/\t\n\r]")  # a cell or row tag not followed by a space
_ODD_REF = re.compile(rb'<c r="[^A-Z]')  # a reference not in capitals
_CHUNK = MB


def _check_area_fast(archive: zipfile.ZipFile, name: str, limits: Limits) -> bool:
    """False when the part is not written the usual way (the caller checks it cell by cell)."""
    cells = strings = max_row = max_col = 0
    wider = beyond = None  # patterns of a cell past the widest column / the last row so far
    with capped(archive, name, limits) as src:
        rest = b""
        while True:
            chunk = src.read(_CHUNK)
            text = rest + chunk
            cut = text.rfind(b">") + 1 if chunk else len(text)  # a tag is never cut in two
            text, rest = text[:cut], text[cut:]
            for dimension in _DIMENSION.findall(text):  # the sheet's own claim of its size
                if int(dimension) > limits.max_rows:
                    raise too_many_rows(name, limits)
            if _PREFIXED.search(text) or _ODD_TAG.search(text) or _ODD_REF.search(text):
                return False
            strings += text.count(b"<si")
            if strings > limits.max_shared_strings:
                raise refused(f"{name} 的字符串超过 {limits.max_shared_strings} 个")
            tags = text.count(b"<c ")
            if text.count(b'<c r="') != tags:
                return False
            cells += tags
            rows = _ROW_NUMBER.findall(text)
            if len(rows) != text.count(b"<row "):
                return False
            if rows:
                top = max(map(int, rows))
                if top > limits.max_rows:
                    raise too_many_rows(name, limits)
                if top > max_row:
                    max_row, beyond = top, _cell_row_above(top)
            if tags and (beyond is None or beyond.search(text)):
                return False  # a cell below every row: the careful check words it
            if tags and (wider is None or wider.search(text)):
                for column in set(_CELL_COLUMN.findall(text)):
                    number = _column_number(column)
                    if number > limits.max_columns:
                        row = re.search(rb'<c r="' + column + rb'([0-9]+)"', text).group(1)
                        raise too_many_columns(name, int(row), limits)
                    if number > max_col:
                        max_col, wider = number, _cell_column_above(column)
            if not chunk:
                break
    _check_grid(name, max_row, max_col, cells)
    return True


def _cell_row_above(row: int) -> re.Pattern:
    """A cell reference whose row number is greater than `row`."""
    return re.compile(rb'<c r="[A-Z]+(?:' + _above(str(row).encode(), b"0123456789") + rb')"')


def _cell_column_above(column: bytes) -> re.Pattern:
    """A cell reference whose column is after `column`."""
    return re.compile(rb'<c r="(?:' + _above(column, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ") + rb")[0-9]")


def _above(value: bytes, alphabet: bytes) -> bytes:
    """A regular expression for the strings over `alphabet` (no leading zero) ordered after `value`."""
    any_one = b"[" + alphabet[:1] + b"-" + alphabet[-1:] + b"]"
    first = b"[" + alphabet[1:2] + b"-" + alphabet[-1:] + b"]" if alphabet[:1] == b"0" else any_one
    longer = first + any_one + b"{" + str(len(value)).encode() + b",}"
    options = [longer]
    for i in range(len(value)):
        position = alphabet.index(value[i : i + 1])
        if position + 1 < len(alphabet):
            after = b"[" + alphabet[position + 1 : position + 2] + b"-" + alphabet[-1:] + b"]"
            options.append(value[:i] + after + any_one + b"{" + str(len(value) - i - 1).encode() + b"}")
    return b"|".join(options)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


GRID_SLACK = 1_000_000  # cells any sheet's grid may have beyond 4 per cell it holds


def _check_grid(name: str, max_row: int, max_col: int, cells: int) -> None:
    if max_row * max_col > 4 * cells + GRID_SLACK:
        raise refused(f"{name} 的单元格分布异常（{max_row} 行 × {max_col} 列，只有 {cells} 个单元格）")


def _check_shape(archive: zipfile.ZipFile, name: str, limits: Limits) -> None:
    rows = cells = total = max_row = max_col = 0
    try:
        with capped(archive, name, limits) as src:
            for _, element in etree.iterparse(src, tag=(_ROW, _CELL), **PARSER_OPTIONS):
                if element.tag == _CELL:
                    cells += 1
                    total += 1
                    if cells > limits.max_columns:
                        raise too_many_columns(name, rows + 1, limits)
                    ref = _REF.match(element.get("r") or "")
                    if ref:
                        column, row = _column_number(ref[1].encode()), int(ref[2])
                        if column > limits.max_columns:
                            raise too_many_columns(name, row, limits)
                        if row > limits.max_rows:
                            raise too_many_rows(name, limits)
                        max_row, max_col = max(max_row, row), max(max_col, column)
                    else:
                        max_row, max_col = max(max_row, rows + 1), max(max_col, cells)
                    continue
                rows += 1
                number = element.get("r")
                if rows > limits.max_rows or (number and number.isdigit() and int(number) > limits.max_rows):
                    raise too_many_rows(name, limits)
                cells = 0
                element.clear()
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.XMLSyntaxError as e:
        raise refused(f"{name} 不是有效的 XML（{e}）") from None
    _check_grid(name, max(max_row, rows), max_col, total)


_REF = re.compile(r"^([A-Za-z]+)([0-9]+)$")
