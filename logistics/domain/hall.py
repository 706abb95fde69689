"""A hall (政务服务中心): the sender printed on labels, the place tariff zones are judged from."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidInput
from .model import DEFAULT_HALL, Address
from .validation import is_phone, is_postcode, text_problem

__all__ = [
    "DEFAULT_HALL",
    "ORIGIN_FIELDS",
    "Hall",
    "check_hall_code",
    "hall_from_origin",
    "origin_json",
    "town_in",
]

# DEFAULT_HALL: the code of the one hall a deployment has until halls are configured (its origin is
# CERTPOST_ORIGIN); every existing row belongs to it.

HALL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
ORIGIN_FIELDS = ("phone", "province", "city", "county", "address", "postcode")
"""What a hall's origin must give (its `name` may come from the hall's own name); `town` is optional."""


@dataclass(frozen=True, slots=True)
class Hall:
    name: str
    phone: str
    province: str
    city: str
    county: str
    address: str  # below the county: "平都镇政务服务中心"
    postcode: str
    town: str = ""  # 乡镇 on inbound labels; empty: the one `address` starts with
    code: str = DEFAULT_HALL

    @property
    def postal_address(self) -> Address:
        town = self.town or town_in(self.address)
        return Address(self.province, self.city, self.county, self.address, self.postcode, town)


_LEADING_TOWN = re.compile(r"^\s*(\S{1,10}?(?:街道|镇|乡))")


def town_in(address: str) -> str:
    """The 乡镇 an address below the county starts with ("平都镇政务服务中心" → "平都镇"), or ""."""
    found = _LEADING_TOWN.match(address)
    return found.group(1) if found else ""


def check_hall_code(code: str) -> str:
    """The code if it is one (1-32 letters, digits, `-`, `_`, starting with a letter or digit), else
    InvalidInput on `code`."""
    if not isinstance(code, str) or not HALL_CODE.match(code):
        raise InvalidInput(
            [("code", "大厅编码须为 1-32 位字母、数字、- 或 _ (1-32 letters, digits, - or _)")]
        )
    return code


def hall_from_origin(code: str, name: str, origin: object) -> Hall:
    """A hall from its code, name and origin object (as CERTPOST_ORIGIN); InvalidInput naming each bad
    field as `origin.<field>`."""
    check_hall_code(code)
    errors = []
    if not isinstance(name, str) or not name.strip() or len(name) > 100 or text_problem(name.strip()):
        errors.append(("name", "请填写大厅名称，最多 100 字 (the hall's name, at most 100 characters)"))
    if not isinstance(origin, dict):
        raise InvalidInput([*errors, ("origin", "必须是 JSON 对象 (a JSON object)")])
    unknown = sorted(set(origin) - {*ORIGIN_FIELDS, "name", "town"})
    errors += [(f"origin.{k}", "未知字段 (unknown field)") for k in unknown]
    for field in ("name", *ORIGIN_FIELDS, "town"):
        value = origin.get(field)
        required = field in ORIGIN_FIELDS
        if value is None and not required:
            continue
        if not isinstance(value, str) or (required and not value.strip()) or len(value) > 200:
            errors.append((f"origin.{field}", "必须是非空字符串 (a non-empty string)"))
        elif value.strip() and (problem := text_problem(value.strip())):
            errors.append((f"origin.{field}", problem))
    postcode, phone = origin.get("postcode"), origin.get("phone")
    if isinstance(postcode, str) and postcode.strip() and not is_postcode(postcode.strip()):
        errors.append(("origin.postcode", "邮政编码须为 6 位数字 (six digits)"))
    if isinstance(phone, str) and phone.strip() and not is_phone(phone.strip()):
        errors.append(("origin.phone", "电话号码格式不对 (not a phone number)"))
    if errors:
        raise InvalidInput(errors)
    fields = {k: origin[k].strip() for k in (*ORIGIN_FIELDS, "town") if isinstance(origin.get(k), str)}
    return Hall(name=name.strip(), code=code, **fields)


def origin_json(hall: Hall) -> dict:
    """The origin object of a hall, as CERTPOST_ORIGIN gives it (what the halls table stores)."""
    return {"name": hall.name, **{k: getattr(hall, k) for k in ORIGIN_FIELDS}, "town": hall.town}
