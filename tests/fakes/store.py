"""The data every fake unit of work of one test shares, as plain Python values.

A unit of work that writes takes the store's write lock (as SQLite's one writer does) and a snapshot of
the tables; leaving with an exception puts the snapshot back (rollback), leaving normally keeps the
changes (commit) and counts the commit, so tests can assert on both."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any


class IntegrityError(Exception):
    """A unique constraint the SQL schema has (and that no ON CONFLICT clause covers) was broken."""


@dataclass
class Tables:
    """One attribute per table of the SQL schema that the fakes cover; rows are dicts (or domain values
    that are never changed in place), keyed by their primary key."""

    dispatches: dict[str, dict] = field(default_factory=dict)
    dispatch_events: list[dict] = field(default_factory=list)
    case_events: dict[tuple, tuple[int, Any]] = field(default_factory=dict)  # key -> (id, CaseEvent)
    jobs: dict[int, dict] = field(default_factory=dict)
    waybill_pool: dict[str, dict] = field(default_factory=dict)
    users: dict[int, dict] = field(default_factory=dict)
    console_sessions: dict[str, dict] = field(default_factory=dict)
    login_failures: dict[str, dict] = field(default_factory=dict)
    console_audit: list[dict] = field(default_factory=list)
    pickup_codes: dict[str, dict] = field(default_factory=dict)
    pickup_slips: dict[str, dict] = field(default_factory=dict)
    carrier_events: dict[int, dict] = field(default_factory=dict)
    tracking: dict[str, dict] = field(default_factory=dict)
    notices: dict[str, dict] = field(default_factory=dict)
    reconciliation_runs: list[dict] = field(default_factory=list)  # read by the statistics fake only
    finance_periods: dict[str, dict] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    halls: dict[str, Any] = field(default_factory=dict)  # code -> Hall (the default one is implied)
    hall_tariffs: dict[tuple[str, str], str] = field(default_factory=dict)  # (hall, from YYYY-MM) -> TOML
    village_points: dict[tuple[str, str], Any] = field(default_factory=dict)  # (hall, code) -> point
    village_point_access: dict[int, dict] = field(default_factory=dict)
    last_ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        self.last_ids[table] = self.last_ids.get(table, 0) + 1
        return self.last_ids[table]


class FakeStore:
    def __init__(self) -> None:
        self.tables = Tables()
        self.commits = 0
        self.rollbacks = 0
        self.write_lock = asyncio.Lock()
        self.writer: asyncio.Task | None = None  # the task holding the write lock

    def snapshot(self) -> Tables:
        return copy.deepcopy(self.tables)

    def restore(self, snapshot: Tables) -> None:
        self.tables = snapshot


def copied(value: Any) -> Any:
    """What a read hands out: a copy, so that a caller changing it cannot change the store."""
    return copy.deepcopy(value)
