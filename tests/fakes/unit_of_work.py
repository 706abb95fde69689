"""`FakeUnitOfWork`: the `ports.UnitOfWork` of use-case tests, in memory.

    store = FakeStore()
    new_uow = FakeUnitOfWorkFactory(store)      # a `UnitOfWorkFactory`
    async with new_uow() as uow:
        await uow.dispatches.insert_new(d, request_hash="h", response=dispatch_json(d))
    assert store.commits == 1

Entering a unit that writes takes the store's write lock (one writer, as on SQLite, where a use case
that nests two writing units waits for itself forever: here that raises RuntimeError) and a snapshot;
an exception restores the snapshot (rollback), a normal exit keeps the changes (commit, counted in
`store.commits`). A read-only unit takes neither and refuses writes (SQL would silently roll them
back). A unit is used only inside its `async with` block, as SQL has no connection outside it.

A factory may be scoped to a hall (`for_hall`): its units see only that hall's dispatches and what hangs
on them (tests/fakes/scope.py), as the SQL repositories do.

Repositories: halls, dispatches, cases, jobs, tracking, pool, users, console and statistics, each kept
honest by the contract tests in tests/integration/contract, which run the same tests against SqlUnitOfWork.
finance, pull and throttle are not faked (no use-case test needs them): any call raises
NotImplementedError."""

from __future__ import annotations

import asyncio
from typing import Any, Self

from .base import NotFaked
from .cases import FakeCaseEvents
from .console import FakeConsoleRecords
from .dispatches import FakeDispatches
from .halls import FakeHalls
from .jobs import FakeJobs
from .pool import FakeWaybillPool
from .statistics import FakeStatistics
from .store import FakeStore, Tables
from .tracking import FakeTrackingRecords
from .users import FakeUsers
from .village import FakeVillagePoints

NEW, OPEN, CLOSED = "new", "open", "closed"


class FakeUnitOfWork:
    def __init__(self, store: FakeStore, *, read_only: bool = False, hall: str | None = None):
        self.store, self.read_only, self.hall = store, read_only, hall
        self._state = NEW
        self._snapshot: Tables | None = None
        self.dispatches = FakeDispatches(self)
        self.cases = FakeCaseEvents(self)
        self.jobs = FakeJobs(self)
        self.tracking = FakeTrackingRecords(self)
        self.pool = FakeWaybillPool(self)
        self.users = FakeUsers(self)
        self.console = FakeConsoleRecords(self)
        self.halls = FakeHalls(self)
        self.finance = NotFaked("finance")
        self.pull = NotFaked("pull")
        self.throttle = NotFaked("throttle")
        self.statistics = FakeStatistics(self)
        self.village_points = FakeVillagePoints(self)

    def check_open(self) -> None:
        if self._state != OPEN:
            raise RuntimeError(f"the unit of work is {self._state}: use it inside `async with`")

    async def __aenter__(self) -> Self:
        if self._state != NEW:
            raise RuntimeError("a unit of work is entered once; ask the factory for another")
        if not self.read_only:
            task = asyncio.current_task()
            if self.store.write_lock.locked() and self.store.writer is task:
                raise RuntimeError("a writing unit of work inside another in one task waits for itself")
            await self.store.write_lock.acquire()
            self.store.writer = task
            self._snapshot = self.store.snapshot()
        self._state = OPEN
        return self

    async def __aexit__(self, exc_type: Any, *exc_info: Any) -> None:
        self._state = CLOSED
        if self.read_only:
            return
        try:
            if exc_type is None:
                self.store.commits += 1
            else:
                self.store.restore(self._snapshot)
                self.store.rollbacks += 1
        finally:
            self._snapshot = self.store.writer = None
            self.store.write_lock.release()


class FakeUnitOfWorkFactory:
    """`ports.UnitOfWorkFactory` over one store: every unit it makes sees the same data."""

    def __init__(self, store: FakeStore | None = None, *, hall: str | None = None):
        self.store, self.hall = store or FakeStore(), hall

    def __call__(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.store, read_only=read_only, hall=self.hall)

    def for_hall(self, hall: str | None) -> FakeUnitOfWorkFactory:
        """Units of work over the same store, scoped to `hall` (tests/fakes/scope.py)."""
        return FakeUnitOfWorkFactory(self.store, hall=hall)
