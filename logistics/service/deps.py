"""What use cases are given by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import Settings
from ..ports import CarrierGateway, Clock, Notifier

if TYPE_CHECKING:
    from .callbacks import CallbackSender


@dataclass
class Deps:
    engine: AsyncEngine
    clock: Clock
    settings: Settings
    carrier: CarrierGateway | None = None
    notifier: Notifier | None = None
    # tracking (issue 5)
    callback_sender: CallbackSender | None = None
    known_codes: frozenset[str] | None = None
    """The carrier's mapped scan codes; others fall back to in_transit and are counted."""
