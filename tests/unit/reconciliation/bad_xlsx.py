"""Malicious and malformed .xlsx files, made small on disk in the test: zip bombs, entity bombs, huge rows."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from .builders import xlsx_bytes

SHEET = "xl/worksheets/sheet1.xml"
STYLES = "xl/styles.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MB = 1024 * 1024


def replaced(parts: dict[str, bytes | tuple[bytes, int]], *, drop=(), base: bytes | None = None) -> bytes:
    """A good statement workbook with some parts replaced (bytes, or (bytes, compression)) or dropped."""
    source = zipfile.ZipFile(io.BytesIO(base or xlsx_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in source.infolist():
            if info.filename in drop or info.filename in parts:
                continue
            z.writestr(info.filename, source.read(info.filename))
        for name, content in parts.items():
            data, method = content if isinstance(content, tuple) else (content, zipfile.ZIP_DEFLATED)
            z.writestr(name, data, compress_type=method)
    return out.getvalue()


def inflating(name: str, megabytes: int, *, chunk: bytes = b" ", also: dict[str, int] | None = None) -> bytes:
    """A workbook whose `name` inflates to `megabytes` MB (and each part in `also` to its MB), made in
    milliseconds: one megabyte deflated with a full flush is a block that stands alone, so the stream is
    that block repeated (~1000:1 for spaces). The CRC is not that of the content: the checks refuse the
    part before reading it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk * (MB // len(chunk))) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()
    sizes = {name: megabytes, **(also or {})}
    data = replaced({part: (block * mb + end, zipfile.ZIP_STORED) for part, mb in sizes.items()})
    for part, mb in sizes.items():
        data = _patched(data, part, size=mb * MB, method=zipfile.ZIP_DEFLATED)
    return data


def lying_about_size(data: bytes, name: str, declared: int) -> bytes:
    """The same archive, with `name`'s uncompressed size in both headers set to `declared`."""
    return _patched(data, name, size=declared)


def _patched(data: bytes, name: str, *, size: int, method: int | None = None) -> bytes:
    """`name`'s uncompressed size (and compression method) rewritten in its local and central headers."""
    data = bytearray(data)
    encoded = name.encode()
    # (signature, offset of the method, offset of the size, offset of the name)
    for signature, method_at, size_at, name_at in ((b"PK\x03\x04", 8, 22, 30), (b"PK\x01\x02", 10, 24, 46)):
        at = 0
        while (at := data.find(signature, at)) >= 0:
            if data[at + name_at : at + name_at + len(encoded)] == encoded:
                struct.pack_into("<L", data, at + size_at, size)
                if method is not None:
                    struct.pack_into("<H", data, at + method_at, method)
            at += 4
    return bytes(data)


def sheet_xml(rows: str, *, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN_NS}">'
        f"<sheetData>{rows}</sheetData></worksheet>"
    ).encode()


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + "]>"
)


def billion_laughs(*, encoding: str = "utf-8") -> bytes:
    xml = sheet_xml(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>', prolog=BILLION_LAUGHS
    )
    if encoding != "utf-8":
        xml = xml.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode(encoding)
    return replaced({SHEET: xml})


def wide_row_xml(cells: int) -> tuple[bytes, int]:
    """A sheet of one row of `cells` empty cells, stored: 4 bytes a cell, two million are 8 MB."""
    return sheet_xml('<row r="1">' + "<c/>" * cells + "</row>"), zipfile.ZIP_STORED


def wide_row(cells: int, *, stored: bool) -> bytes:
    """The same deflated is ~10 KB, and refused for its ratio."""
    xml, _ = wide_row_xml(cells)
    return replaced({SHEET: (xml, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)})


def no_cell_styles(base_parts: dict) -> bytes:
    """Styles without cellXfs: the streaming reader hands such a file to openpyxl."""
    styles = f'<?xml version="1.0"?><styleSheet xmlns="{MAIN_NS}"></styleSheet>'.encode()
    return replaced({STYLES: styles, **base_parts})


def many_members(n: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for i in range(n):
            z.writestr(f"x/{i}", b"")
    return out.getvalue()
