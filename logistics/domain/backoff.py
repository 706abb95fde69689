"""How long to wait before trying again."""

from __future__ import annotations

import random


def backoff_s(attempts: int, *, base: float = 2.0, cap: float = 600.0) -> float:
    """Exponential backoff with full jitter on the upper half, so retries do not arrive in waves."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return ceiling / 2 + random.random() * ceiling / 2
