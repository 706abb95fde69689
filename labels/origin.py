"""The sending hall, as configured by CERTPOST_ORIGIN."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields

from logistics.domain.model import Address, Party


@dataclass(frozen=True)
class Origin:
    name: str
    phone: str
    province: str
    city: str
    county: str
    address: str
    postcode: str
    town: str = ""  # 乡镇; when not configured, the one the address starts with

    @classmethod
    def from_mapping(cls, data: dict) -> Origin:
        return cls(**{f.name: str(data.get(f.name, "") or "") for f in fields(cls)})

    @classmethod
    def from_json(cls, text: str) -> Origin:
        return cls.from_mapping(json.loads(text))

    @property
    def party(self) -> Party:
        return Party(self.name, self.phone)

    @property
    def postal_address(self) -> Address:
        town = self.town or town_in(self.address)
        return Address(self.province, self.city, self.county, self.address, self.postcode, town)


_LEADING_TOWN = re.compile(r"^\s*(\S{1,10}?(?:街道|镇|乡))")


def town_in(address: str) -> str:
    """The 乡镇 an address below the county starts with ("平都镇政务服务中心" → "平都镇"), or ""."""
    found = _LEADING_TOWN.match(address)
    return found.group(1) if found else ""
