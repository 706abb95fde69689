"""A hall (政务服务中心): the sender printed on labels, the place tariff zones are judged from."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Address

DEFAULT_HALL = "default"
"""The code of the one hall a deployment has until halls are configured (its origin is CERTPOST_ORIGIN)."""


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
