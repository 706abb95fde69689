"""A village point list uploaded at the console (CSV in UTF-8 or GBK, or XLSX): its rows as the details
`service.village_points.import_rows` takes, each with its row number in the file. The header row names
the columns (Chinese or English); an .xlsx passes the statement importer's guards before calamine
reads it. Whatever is wrong with the file itself is InvalidInput on `file`, naming the row."""

from __future__ import annotations

import csv
import io

from reconciliation import xlsx, xlsx_guard
from reconciliation.errors import StatementError

from ...domain.errors import InvalidInput

COLUMNS = {
    "code": ("代办点编码", "编码", "code"),
    "name": ("代办点名称", "名称", "name"),
    "town": ("乡镇", "所属乡镇", "town"),
    "province": ("省", "省份", "province"),
    "city": ("市", "city"),
    "county": ("县", "县区", "区县", "county"),
    "detail": ("详细地址", "地址", "detail", "address"),
    "postcode": ("邮编", "邮政编码", "postcode"),
    "clerk_name": ("经办人", "经办人姓名", "clerk_name"),
    "clerk_phone": ("经办人电话", "联系电话", "电话", "clerk_phone"),
}
REQUIRED = ("code", "name", "town", "province", "city", "county", "detail", "postcode", "clerk_name",
            "clerk_phone")  # fmt: skip
MAX_ROWS = 2000
LIMITS = xlsx_guard.Limits(max_uncompressed_bytes=20 * xlsx_guard.MB, max_rows=MAX_ROWS + 10, max_columns=40)


def read_points(data: bytes, filename: str) -> list[tuple[int, dict]]:
    """(row number, point details) for every non-empty row under the header."""
    if not data:
        raise InvalidInput([("file", "文件是空的")])
    is_xlsx = data[:2] == b"PK" or filename.lower().endswith(".xlsx")
    rows = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    header_at, columns = _header(rows)
    found = []
    for number, row in rows[header_at + 1 :]:
        cells = {key: _text(row[i]) if i < len(row) else "" for key, i in columns.items()}
        if not any(cells.values()):
            continue
        address = {k: cells.pop(k) for k in ("province", "city", "county", "detail", "postcode")}
        address["town"] = cells["town"]
        found.append((number, {**cells, "address": address}))
        if len(found) > MAX_ROWS:
            raise InvalidInput([("file", f"一次最多导入 {MAX_ROWS} 个代办点")])
    return found


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone or postcode Excel stored as a number
    return str(value if value is not None else "").strip().lstrip("'")


def _header(rows: list[tuple[int, list]]) -> tuple[int, dict[str, int]]:
    for at, (_, row) in enumerate(rows[:10]):
        names = [_text(c).lower() for c in row]
        columns = {}
        for key, accepted in COLUMNS.items():
            for i, name in enumerate(names):
                if name in accepted:
                    columns.setdefault(key, i)
        if "code" in columns and "name" in columns:
            missing = [COLUMNS[k][0] for k in REQUIRED if k not in columns]
            if missing:
                raise InvalidInput([("file", f"第 {rows[at][0]} 行表头缺少列：{'、'.join(missing)}")])
            return at, columns
    raise InvalidInput([("file", "找不到表头行（应含 代办点编码、代办点名称 等列）")])


def _csv_rows(data: bytes) -> list[tuple[int, list]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput([("file", "无法识别文件编码（请用 UTF-8 或 GBK 的 CSV，或 XLSX）")])
    if "\x00" in text:
        raise InvalidInput([("file", "不是文本格式的 CSV 文件")])
    try:
        reader = csv.reader(io.StringIO(text))
        return [(n, row) for n, row in enumerate(reader, start=1) if n <= MAX_ROWS + 10 or _too_many()]
    except csv.Error as e:
        raise InvalidInput([("file", f"CSV 格式错误：{e}")]) from None


def _too_many() -> bool:
    raise InvalidInput([("file", f"一次最多导入 {MAX_ROWS} 个代办点")])


def _xlsx_rows(data: bytes) -> list[tuple[int, list]]:
    try:
        archive = xlsx_guard.open_checked(data, LIMITS)
        xlsx_guard.check_sheet_areas(archive, LIMITS)
        sheet = xlsx.first_sheet(data, archive.namelist())
        return list(enumerate(sheet.rows(), start=1))  # calamine's rows start at Excel's row 1
    except StatementError as e:
        raise InvalidInput([("file", str(e))]) from None
