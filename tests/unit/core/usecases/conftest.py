"""Argon2 as in production, with the cheapest parameters, for every use case that issues or checks a
pickup code: the tests stay in milliseconds."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from logistics.service import pickup, pickup_delivery


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

    def verify(stored_hash, code):
        try:
            return hasher.verify(stored_hash, code)
        except Exception:
            return False

    for module in (pickup, pickup_delivery):
        monkeypatch.setattr(module, "hash_secret", hasher.hash)
    monkeypatch.setattr(pickup, "verify_secret", verify)
