"""`ports.repositories.halls.Halls` in memory; the default hall is the settings' origin (SAMPLE_HALL here)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from logistics.config import SAMPLE_HALL
from logistics.domain.hall import DEFAULT_HALL, Hall

from .base import FakeRepository


class FakeHalls(FakeRepository):
    default = replace(SAMPLE_HALL, code=DEFAULT_HALL)

    async def get(self, code: str) -> Hall | None:
        if code == DEFAULT_HALL:
            return self.default
        return self._read.halls.get(code)

    async def list(self) -> list[Hall]:
        t = self._read
        return [self.default, *(t.halls[code] for code in sorted(t.halls))]

    async def add(self, hall: Hall, *, now: datetime) -> bool:
        t = self._write
        if hall.code == DEFAULT_HALL or hall.code in t.halls:
            return False
        t.halls[hall.code] = hall
        return True

    async def put_tariff(self, code: str, from_period: str, toml: str, *, now: datetime) -> None:
        self._write.hall_tariffs[(code, from_period)] = toml

    async def tariff_for(self, code: str, period: str) -> str | None:
        t = self._read
        applying = [p for (c, p) in t.hall_tariffs if c == code and p <= period]
        return t.hall_tariffs[(code, max(applying))] if applying else None
