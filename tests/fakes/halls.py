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
