"""Reading the tariff TOML file, with errors that name the key at fault."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import TariffError
from .tariff import ZONE_NAMES, Insurance, Tariff, TariffVersion, Tolerance, Zone

_VERSION_KEYS = {"effective_from", "weight_step_g", "zones", "insurance", "tolerance"}
_ZONE_KEYS = {"name", "first_weight_g", "first_fen", "step_fen"}
_INSURANCE_KEYS = {"rate_permille", "minimum_fen"}
_TOLERANCE_KEYS = {"amount_fen", "weight_g"}


def load_tariff(source: str | Path | bytes) -> Tariff:
    """A tariff from a file path, or from the TOML text itself (bytes)."""
    if isinstance(source, bytes):
        text, name = source.decode("utf-8-sig"), "tariff"
    else:
        try:
            text, name = Path(source).read_text(encoding="utf-8-sig"), str(source)
        except OSError as e:
            raise TariffError([(str(source), f"无法读取资费文件：{e.strerror or e}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise TariffError([(name, f"不是有效的 TOML：{e}")]) from None
    return parse_tariff(data)


def default_tariff() -> Tariff:
    """The tariff shipped with the package (default_tariff.toml), used when no --tariff is given."""
    return load_tariff(resources.files(__package__).joinpath("default_tariff.toml").read_bytes())


def parse_tariff(data: dict[str, Any]) -> Tariff:
    check = _Checker()
    if "versions" in data:
        extra = sorted(set(data) - {"versions"})
        if extra:
            check.fail(extra[0], "不能与 [[versions]] 同时出现在顶层，请放进某个版本里")
        raw_versions = data["versions"]
        if not isinstance(raw_versions, list) or not raw_versions:
            check.fail("versions", "必须是至少一个 [[versions]] 表")
            raw_versions = []
        versions = [check.version(v, f"versions[{i}].") for i, v in enumerate(raw_versions)]
    else:
        versions = [check.version(data, "")]
    seen: dict[date, int] = {}
    for i, v in enumerate(versions):
        if v is not None and v.effective_from in seen:
            check.fail(
                f"versions[{i}].effective_from", f"与 versions[{seen[v.effective_from]}] 的生效日期相同"
            )
        elif v is not None:
            seen[v.effective_from] = i
    if check.errors:
        raise TariffError(check.errors)
    return Tariff(tuple(sorted((v for v in versions if v), key=lambda v: v.effective_from)))


@dataclass
class _Checker:
    errors: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, key: str, message: str) -> None:
        self.errors.append((key, message))

    def version(self, raw: Any, at: str) -> TariffVersion | None:
        if not self.table(raw, at.rstrip(".") or "tariff", _VERSION_KEYS):
            return None
        before = len(self.errors)
        effective_from = self.day(raw, at + "effective_from")
        step = self.integer(raw, at + "weight_step_g", minimum=1)
        zones = self.zones(raw.get("zones"), at + "zones")
        insurance = self.insurance(raw.get("insurance", {}), at + "insurance")
        tolerance = self.tolerance(raw.get("tolerance", {}), at + "tolerance")
        if len(self.errors) > before:
            return None
        return TariffVersion(effective_from, step, zones, insurance, tolerance)

    def zones(self, raw: Any, at: str) -> tuple[Zone, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail(at, "必须是至少一个 [[zones]] 表")
            return ()
        zones = []
        for i, z in enumerate(raw):
            key = f"{at}[{i}]"
            if not self.table(z, key, _ZONE_KEYS):
                continue
            name = z.get("name")
            if name not in ZONE_NAMES:
                self.fail(key + ".name", f"必须是 {' / '.join(ZONE_NAMES)} 之一")
            elif any(earlier.name == name for earlier in zones):
                self.fail(key + ".name", f"区域 {name} 重复")
            values = [self.integer(z, f"{key}.{k}") for k in ("first_weight_g", "first_fen", "step_fen")]
            zones.append(Zone(name, *values))
        if zones and not any(z.name == "national" for z in zones):
            self.fail(at, '必须包含 name = "national" 的区域，保证每个目的地都有价格')
        return tuple(zones)

    def insurance(self, raw: Any, at: str) -> Insurance:
        if not self.table(raw, at, _INSURANCE_KEYS):
            return Insurance()
        rate = raw.get("rate_permille", 0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0 or rate != rate:
            self.fail(at + ".rate_permille", "必须是非负数（千分比）")
            rate = 0
        return Insurance(Decimal(str(rate)), self.integer(raw, at + ".minimum_fen", default=0))

    def tolerance(self, raw: Any, at: str) -> Tolerance:
        if not self.table(raw, at, _TOLERANCE_KEYS):
            return Tolerance()
        return Tolerance(
            self.integer(raw, at + ".amount_fen", default=0), self.integer(raw, at + ".weight_g", default=0)
        )

    def table(self, raw: Any, at: str, allowed: set[str]) -> bool:
        if not isinstance(raw, dict):
            self.fail(at, "必须是表（table）")
            return False
        for key in sorted(set(raw) - allowed):
            self.fail(
                f"{at}.{key}" if at != "tariff" else key, f"未知的键（可用：{', '.join(sorted(allowed))}）"
            )
        return True

    def integer(self, raw: dict, key: str, *, minimum: int = 0, default: int | None = None) -> int:
        value = raw.get(key.rsplit(".", 1)[-1], default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            what = "正整数" if minimum == 1 else "非负整数"
            self.fail(key, f"必须是{what}" + ("（缺少）" if value is None else f"，而不是 {value!r}"))
            return minimum
        return value

    def day(self, raw: dict, key: str) -> date:
        value = raw.get(key.rsplit(".", 1)[-1])
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(
                key, "必须是日期，如 2026-01-01" + ("（缺少）" if value is None else f"，而不是 {value!r}")
            )
            return date.min
