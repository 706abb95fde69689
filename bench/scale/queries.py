"""The reads measured at scale, each on the app's own code path (the use case or repository calls its web
handler makes, in process on `bootstrap.deps`), and the SQL they ran, captured so that run.py can time
exactly those statements under a plain EXPLAIN ANALYZE as their floor.

Staff reads run in a hall's scope (`deps.for_hall(code)`); the citizen's lookup is
the province's public one (no hall)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from logistics.service import citizen, dashboard
from logistics.service.deps import Deps
from logistics.service.exceptions_queue import list_exceptions
from logistics.storage.tracking import SqlCitizenLookup
from logistics.web.console.desk import PAGE_SIZE, TABS
from logistics.web.console.home import tariff_estimate
from logistics.web.console.statistics import dashboard_breaches


@dataclass(frozen=True)
class Sample:
    """One stored dispatch the reads look for (its recipient's name only in memory, never printed)."""

    hall: str
    case_no: str
    waybill_no: str
    phone_last4: str
    name: str


@dataclass
class Read:
    label: str
    target_ms: float
    run: Callable[[Deps, Sample], Awaitable[object]]
    scoped: bool = True  # a hall's staff; False: the public


def _found(value, what: str):
    if not value:
        raise AssertionError(f"{what}: the sample's dispatch was not found")
    return value


async def _dispatch_list(deps: Deps, *, statuses=None, q: str = "") -> tuple[list, int]:
    """What `web/console/desk.dispatch_list` reads: one page and the tabs' counts, in one unit of work."""
    async with deps.uow(read_only=True) as uow:
        found, total = await uow.console.search_dispatches(statuses=statuses, q=q, limit=PAGE_SIZE, offset=0)
        await uow.console.count_by_status()
    return found, total


def reads(engine: AsyncEngine, anchor: datetime) -> list[Read]:
    lookup = SqlCitizenLookup(engine)  # web/app.py's CITIZEN_LOOKUP
    moving = next(s for key, _, s in TABS if key == "moving")

    async def by_waybill(deps: Deps, s: Sample):
        view = await citizen.find(lookup, phone_last4=s.phone_last4, waybill_no=s.waybill_no)
        return _found(view, "citizen lookup by waybill")

    async def by_case(deps: Deps, s: Sample):
        return _found(await citizen.find(lookup, phone_last4=s.phone_last4, case_no=s.case_no), "by case")

    async def first_page(deps: Deps, s: Sample):
        return _found((await _dispatch_list(deps))[0], "the list's first page")

    async def moving_tab(deps: Deps, s: Sample):
        return await _dispatch_list(deps, statuses=moving)

    async def search_case(deps: Deps, s: Sample):
        found, _ = await _dispatch_list(deps, q=s.case_no)
        return _found([d for d in found if d.case_no == s.case_no], "search by case number")

    async def search_name(deps: Deps, s: Sample):
        found, _ = await _dispatch_list(deps, q=s.name)
        return _found([d for d in found if d.case_no == s.case_no], "search by name")

    async def exceptions(deps: Deps, s: Sample):
        # web/api/tracking.exceptions and the console's exceptions page
        return await list_exceptions(
            deps.uow(read_only=True), now=anchor, stuck_days=deps.settings.stuck_days
        )

    async def board(deps: Deps, s: Sample):
        # web/console/home.home: the figures and the supervision card (智能监管)
        settings = deps.settings
        figures = await dashboard.build(
            deps.uow(read_only=True), now=anchor, ontime_days=settings.ontime_days,
            estimate=tariff_estimate(settings.origin),
        )  # fmt: skip
        return figures, await dashboard_breaches(deps, settings, anchor)

    return [
        Read("citizen: waybill + phone last 4", 20, by_waybill, scoped=False),
        Read("citizen: case no + phone last 4", 20, by_case, scoped=False),
        Read("list: first page (all)", 100, first_page),
        Read("list: first page (in transit tab)", 100, moving_tab),
        Read("search: case number", 100, search_case),
        Read("search: recipient's full name", 100, search_name),
        Read("exceptions list", 100, exceptions),
        Read("dashboard", 300, board),
    ]


@dataclass
class Capture:
    """The statements run while `on`: SQLAlchemy's (a cursor event) and those sent on the driver's own
    connection (the citizen lookup's fast path: asyncpg's fetchrow)."""

    statements: list[tuple[str, tuple]] = field(default_factory=list)
    on: bool = False

    def install(self, engine: AsyncEngine) -> None:
        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def record(conn, cursor, statement, parameters, context, executemany):
            if self.on:
                self.statements.append((statement, tuple(parameters or ())))

        fetchrow = asyncpg.connection.Connection.fetchrow
        capture = self

        async def recording_fetchrow(self, query, *args, **kwargs):
            if capture.on:
                capture.statements.append((query, args))
            return await fetchrow(self, query, *args, **kwargs)

        asyncpg.connection.Connection.fetchrow = recording_fetchrow

    @contextlib.contextmanager
    def recording(self):
        self.statements, self.on = [], True
        try:
            yield self.statements
        finally:
            self.on = False


def _is_read(statement: str) -> bool:
    return statement.lstrip().split(None, 1)[0].upper() in {"SELECT", "WITH"}


# the session settings of the app's connections (storage/db.py), so the floor plans as the app's reads do
APP_SESSION = {"jit": "off"}


async def explain_ms(conn: asyncpg.Connection, statements: list[tuple[str, tuple]]) -> tuple[float, int]:
    """The summed execution time (ms) of the statements under EXPLAIN ANALYZE, and how many there were
    (transaction control apart)."""
    total, n = 0.0, 0
    for statement, params in statements:
        if not _is_read(statement):
            continue
        plan = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, *params)
        total += json.loads(plan)[0]["Execution Time"]
        n += 1
    return total, n


async def timed(coro: Awaitable) -> float:
    started = time.perf_counter()
    await coro
    return (time.perf_counter() - started) * 1000
