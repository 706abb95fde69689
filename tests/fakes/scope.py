"""A hall's view of the fake tables: what a scoped unit of work (`uow.hall`) sees, as SQL's filters do.

Dispatches of other halls are absent from `dispatches`; the audit trail, pickup codes and notices of
those dispatches are absent too. Writing another hall's dispatch raises PermissionError (as the SQL
repositories refuse it); audit lines for dispatches outside the hall are dropped (SQL adds none)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from .store import Tables


class InHall(MutableMapping):
    """A dict of rows, seen through `visible(key, row)`; new rows must be visible too."""

    def __init__(self, rows: dict, visible: Callable[[Any, Any], bool]):
        self._rows, self._visible = rows, visible

    def __getitem__(self, key):
        row = self._rows[key]
        if not self._visible(key, row):
            raise KeyError(key)
        return row

    def __setitem__(self, key, row) -> None:
        if not self._visible(key, row):
            raise PermissionError("a scoped unit of work may not write another hall's rows")
        self._rows[key] = row

    def __delitem__(self, key) -> None:
        self[key]
        del self._rows[key]

    def __iter__(self) -> Iterator:
        return (k for k, row in list(self._rows.items()) if self._visible(k, row))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key) -> bool:
        return key in self._rows and self._visible(key, self._rows[key])


class EventsInHall:
    """The audit trail's list, seen from a hall: appends for other halls' dispatches are dropped."""

    def __init__(self, rows: list, ours: Callable[[str], bool]):
        self._rows, self._ours = rows, ours

    def append(self, row: dict) -> None:
        if self._ours(row["dispatch_id"]):
            self._rows.append(row)

    def extend(self, rows) -> None:
        for row in rows:
            self.append(row)

    def __iter__(self) -> Iterator:
        return (row for row in list(self._rows) if self._ours(row["dispatch_id"]))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class HallTables:
    """`Tables` as a unit of work scoped to `hall` sees them; tables without hall-owned rows pass through."""

    def __init__(self, tables: Tables, hall: str):
        self._tables, self.hall = tables, hall

        def ours(dispatch_id: str) -> bool:
            row = tables.dispatches.get(dispatch_id)
            return row is not None and row["dispatch"].hall == hall

        self.dispatches = InHall(tables.dispatches, lambda _, row: row["dispatch"].hall == hall)
        self.dispatch_events = EventsInHall(tables.dispatch_events, ours)
        self.pickup_codes = InHall(tables.pickup_codes, lambda dispatch_id, _: ours(dispatch_id))
        self.pickup_slips = InHall(tables.pickup_slips, lambda dispatch_id, _: ours(dispatch_id))
        self.notices = InHall(tables.notices, lambda _, row: ours(row["dispatch_id"]))
        self.case_events = InHall(tables.case_events, lambda _, row: row[1].hall == hall)

    def __getattr__(self, name: str):
        return getattr(self._tables, name)
