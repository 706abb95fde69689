"""The sending hall, as configured by CERTPOST_ORIGIN."""

from __future__ import annotations

import json
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
        return Address(self.province, self.city, self.county, self.address, self.postcode)
