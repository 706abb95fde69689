"""The contracted tariff as data: versions by effective date, zones judged against the sending hall."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from logistics.domain.hall import Hall

# Closest first; a zone named N covers every destination at least as close as N ("city" covers county).
ZONE_NAMES = ("county", "city", "province", "national")
_RANK = {name: rank for rank, name in enumerate(ZONE_NAMES)}

# Administrative suffixes people drop or add ("江西" / "江西省"); counties keep theirs (吉安县 ≠ 吉安市).
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_CITY_SUFFIXES = ("自治州", "地区", "市", "盟")


@dataclass(frozen=True)
class Zone:
    name: str
    first_weight_g: int
    first_fen: int
    step_fen: int


@dataclass(frozen=True)
class Insurance:
    rate_permille: Decimal = Decimal(0)
    minimum_fen: int = 0


@dataclass(frozen=True)
class Tolerance:
    amount_fen: int = 0
    weight_g: int = 0


@dataclass(frozen=True)
class TariffVersion:
    effective_from: date
    weight_step_g: int
    zones: tuple[Zone, ...]
    insurance: Insurance = Insurance()
    tolerance: Tolerance = Tolerance()

    def zone_for(self, origin: Hall, province: str, city: str, county: str) -> Zone:
        rank = _RANK[place_relation(origin, province, city, county)]
        for zone in self.zones:
            if rank <= _RANK[zone.name]:
                return zone
        raise LookupError(f"资费没有适用于 {province}{city}{county} 的区域")  # validation requires "national"

    def chargeable_weight_g(self, zone: Zone, weight_g: int) -> int:
        return zone.first_weight_g + self._steps(zone, weight_g) * self.weight_step_g

    def fee_fen(self, zone: Zone, weight_g: int, declared_value_fen: int) -> int:
        return (
            zone.first_fen
            + zone.step_fen * self._steps(zone, weight_g)
            + self.insurance_fen(declared_value_fen)
        )

    def insurance_fen(self, declared_value_fen: int) -> int:
        if declared_value_fen <= 0:
            return 0
        premium = (Decimal(declared_value_fen) * self.insurance.rate_permille / 1000).quantize(
            Decimal(1), ROUND_HALF_UP
        )
        return max(int(premium), self.insurance.minimum_fen)

    def _steps(self, zone: Zone, weight_g: int) -> int:
        above = max(0, weight_g - zone.first_weight_g)
        return -(-above // self.weight_step_g)


@dataclass(frozen=True)
class Tariff:
    versions: tuple[TariffVersion, ...]  # sorted by effective_from, at least one

    def version_on(self, day: date) -> TariffVersion | None:
        """The version in force on `day`, None before the first one."""
        i = bisect.bisect_right([v.effective_from for v in self.versions], day)
        return self.versions[i - 1] if i else None


def place_relation(origin: Hall, province: str, city: str, county: str) -> str:
    """How close a destination is to the hall: one of ZONE_NAMES."""
    if _norm(province, _PROVINCE_SUFFIXES) != _norm(origin.province, _PROVINCE_SUFFIXES):
        return "national"
    if _norm(city, _CITY_SUFFIXES) != _norm(origin.city, _CITY_SUFFIXES):
        return "province"
    if "".join(county.split()) != "".join(origin.county.split()):
        return "city"
    return "county"


def _norm(name: str, suffixes: tuple[str, ...]) -> str:
    name = "".join(name.split())
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
