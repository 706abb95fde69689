"""Turning statement cells (text from CSV, numbers or dates from Excel) into waybills, fen, grams and days.

Each parser raises ValueError with a message for people; the reader adds the row and the column.
Money never goes through float arithmetic: text is parsed as Decimal, Excel floats through their repr.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

TOTAL_WORDS = ("合计", "总计")
_EXCEL_EPOCH = date(1899, 12, 30)
_DAY = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[\sT].*)?$")
_COMPACT_DAY = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
_SCIENTIFIC = re.compile(r"^([0-9])(?:\.([0-9]+))?[eE]\+?([0-9]+)$")
_WAYBILL = re.compile(r"^[0-9A-Z]+$")
_APOSTROPHES = "'‘’`"
_CURRENCY = "¥￥元"


def waybill(value: object) -> str:
    """The waybill number as EMS prints it; "" when the cell is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError(f"不是邮件号 {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value != int(value):
            raise ValueError(f"不是邮件号 {value!r}")
        return str(int(value))
    text = "".join(str(value).split()).lstrip(_APOSTROPHES).upper()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    scientific = _SCIENTIFIC.match(text)
    if scientific:
        return _from_scientific(text, *scientific.groups())
    if text and not _WAYBILL.match(text):
        raise ValueError(f'不是邮件号 "{value}"')
    return text


def _from_scientific(text: str, lead: str, fraction: str | None, exponent: str) -> str:
    digits = lead + (fraction or "")
    # Excel's "General" display keeps 6 significant digits: 1.12346E+12 lost the rest of the number.
    if len(digits) <= 6 and int(exponent) >= len(digits):
        raise ValueError(f'邮件号 "{text}" 已被 Excel 写成科学计数法并丢失了位数，请把该列设为文本后重新导出')
    if len(digits) - 1 > int(exponent):
        raise ValueError(f'不是邮件号 "{text}"')
    return digits + "0" * (int(exponent) - len(digits) + 1)


def fen(value: object) -> int:
    """Yuan (text "1,234.50", "¥8", or an Excel number) as integer fen; "" counts as 0."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"不是金额 {value!r}")
    if isinstance(value, int):
        return value * 100
    if isinstance(value, float):
        return _fen_of_float(value)
    text = "".join(str(value).split()).strip(_CURRENCY).replace(",", "").replace("，", "")
    if not text:
        return 0
    try:
        amount = Decimal(text) * 100
    except InvalidOperation:
        raise ValueError(f'不是金额 "{value}"') from None
    if not amount.is_finite() or amount != amount.to_integral_value():
        raise ValueError(f'不是金额 "{value}"（最多两位小数）')
    return int(amount)


def _fen_of_float(value: float) -> int:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"不是金额 {value!r}")
    amount = Decimal(repr(value)) * 100
    nearest = amount.to_integral_value()
    # A sum computed by Excel can carry binary noise (12.340000000000002); more than that is not money.
    if abs(amount - nearest) > Decimal("0.0001"):
        raise ValueError(f"不是金额 {value!r}（最多两位小数）")
    return int(nearest)


def grams(value: object) -> int:
    """Whole grams; a fraction of a gram is rounded up, as a scale would charge it."""
    if value is None or value == "":
        raise ValueError("为空")
    if isinstance(value, bool):
        raise ValueError(f"不是重量 {value!r}")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal("".join(str(value).split()))
    except InvalidOperation:
        raise ValueError(f'不是重量 "{value}"') from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f'不是重量 "{value}"')
    return int(amount.to_integral_value(rounding="ROUND_CEILING"))


def day(value: object) -> date:
    """A date from "2026-10-05", "2026/10/5 13:20", "2026年10月5日", "20261005", or an Excel date/serial."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    text = "" if value is None else str(value)
    match = _DAY.match(text) or _COMPACT_DAY.match(text)
    if not match:
        raise ValueError("为空" if not text.strip() else f'不是日期 "{text}"')
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        raise ValueError(f'不是日期 "{text}"') from None


def text(value: object) -> str:
    return "" if value is None else "".join(str(value).split())


def is_total_label(value: object) -> bool:
    return isinstance(value, str) and any(word in value for word in TOTAL_WORDS)
