"""What use cases are given by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import Settings
from ..ports import CarrierGateway, Clock, Notifier


@dataclass
class Deps:
    engine: AsyncEngine
    clock: Clock
    settings: Settings
    carrier: CarrierGateway | None = None
    notifier: Notifier | None = None
