"""Formats the approval system must respect. Pure predicates, used by the API schema."""

from __future__ import annotations

import re

MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Landline: 3-4 digit area code starting with 0, 7-8 digit number, optional extension.
LANDLINE = re.compile(r"^0\d{2,3}-?[2-9]\d{6,7}(?:-\d{1,6})?$")
POSTCODE = re.compile(r"^\d{6}$")


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
