"""Privacy masking for labels and the citizen page (GB/T 41833-2022 隐私面单).

At least one character of a name, at least six digits of a phone number and the room part of an
address are hidden."""

from __future__ import annotations

import re

STAR = "*"


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) <= 1:
        return STAR
    if len(name) == 2:
        return name[0] + STAR
    return name[0] + STAR * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """Keep the first 3 and the last 2 digits of 11-digit mobiles; always hide at least 6 digits."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return ""
    if len(digits) >= 11:
        return digits[:3] + STAR * (len(digits) - 5) + digits[-2:]
    keep_tail = max(0, min(2, len(digits) - 6))
    return STAR * (len(digits) - keep_tail) + digits[len(digits) - keep_tail :]


_ROOM = re.compile(r"(\d+\s*(?:栋|幢|座|号楼|单元|楼|层|室|房|户)|[A-Za-z]?\d+\s*-\s*\d+(?:\s*-\s*\d+)?)")
_HOUSE_NO = re.compile(r"\d+\s*号")


def mask_address(detail: str) -> str:
    """Hide building/unit/room numbers and the house number; keep the road or village for sorting."""
    masked = _ROOM.sub(lambda m: STAR * 2, detail or "")
    return _HOUSE_NO.sub(STAR * 2 + "号", masked)


_NOT_DIGIT = re.compile(r"\D")


def phone_last4(phone: str) -> str:
    return _NOT_DIGIT.sub("", phone or "")[-4:]
