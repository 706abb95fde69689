"""Formats the approval system must respect. Pure predicates, used by the API schema."""

from __future__ import annotations

import re
import unicodedata

MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
# Landline: 3-4 digit area code starting with 0, 7-8 digit number, optional extension.
LANDLINE = re.compile(r"^0[0-9]{2,3}-?[2-9][0-9]{6,7}(?:-[0-9]{1,6})?$")
POSTCODE = re.compile(r"^[0-9]{6}$")


_PHONE_NOISE = re.compile(r"[\s()（）]")


def normalize_phone(raw: str) -> str:
    return _PHONE_NOISE.sub("", raw or "").removeprefix("+86").removeprefix("0086")


def is_phone(raw: str) -> bool:
    return is_normalized_phone(normalize_phone(raw))


def is_normalized_phone(phone: str) -> bool:
    return bool(MOBILE.match(phone) or LANDLINE.match(phone))


def is_mobile(raw: str) -> bool:
    return bool(MOBILE.match(normalize_phone(raw)))


def is_postcode(raw: str) -> bool:
    return bool(POSTCODE.match(raw or ""))


# ---- free text (names, addresses, titles …) ------------------------------------------------------
# Refused anywhere in a text field: C0/C1 control characters (NUL, tab, CR, LF …), line and paragraph
# separators, and the bidi controls that reorder what a clerk or a label shows (overrides, embeddings,
# isolates, marks). Also refused: a text with nothing visible in it, only spaces and zero-width or other
# invisible characters. The classes are written so that Python's `re` and pydantic-core's Rust regex
# read them alike: the pattern is checked in Rust by the intake schema, and here for everyone else.
_FORBIDDEN = r"\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_INVISIBLE = (
    r"\u0020\u00a0\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u1680\u2000-\u200d\u202f\u205f"
    r"\u2060-\u2064\u3000\u3164\ufeff\uffa0"
)
_VISIBLE_TEXT = rf"[^{_FORBIDDEN}]*[^{_FORBIDDEN}{_INVISIBLE}][^{_FORBIDDEN}]*"
TEXT_PATTERN = rf"^{_VISIBLE_TEXT}$"  # a required text
OPTIONAL_TEXT_PATTERN = rf"^(?:{_VISIBLE_TEXT})?$"  # empty, or a text as above
_FORBIDDEN_CHAR = re.compile(rf"[{_FORBIDDEN}]")
_VISIBLE_CHAR = re.compile(rf"[^{_FORBIDDEN}{_INVISIBLE}]")

CONTROL_MESSAGE = "不能含有控制字符（如换行、制表符、NUL）"
BIDI_MESSAGE = "不能含有改变文字方向的不可见字符"
INVISIBLE_MESSAGE = "不能只有空白或不可见字符"


def text_problem(value: str) -> str | None:
    """Why `value` is not an acceptable text (one of the messages above), or None. Empty is fine here."""
    bad = _FORBIDDEN_CHAR.search(value)
    if bad is not None:
        return CONTROL_MESSAGE if unicodedata.category(bad.group()) in ("Cc", "Zl", "Zp") else BIDI_MESSAGE
    if value and _VISIBLE_CHAR.search(value) is None:
        return INVISIBLE_MESSAGE
    return None


# ---- rules across fields of an intake ------------------------------------------------------------
def delivery_problems(
    method: object, direction: object, has_address: bool, village_point_code: object
) -> list[tuple[str, str]]:
    """What the delivery method asks of the other fields, as (field, message). Takes the raw values, so
    the rules are checked (and every one reported) even when other fields of the request are wrong."""
    problems = []
    if method == "village_point" and not (isinstance(village_point_code, str) and village_point_code.strip()):
        problems.append(("village_point_code", "送达村级代办点时必须填写代办点编码"))
    if not has_address and (method in ("mail", "village_point") or direction == "inbound"):
        problems.append(("address", "邮寄必须填写地址"))
    return problems
