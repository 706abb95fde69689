"""`ports.Statistics` on SQLAlchemy Core: every figure is grouped and counted by the database (a province
holds about a million dispatches); only the supervisor's candidates come back row by row.

Time arithmetic differs by dialect (SQLite: julianday and date modifiers; PostgreSQL: timestamptz casts
and Asia/Shanghai), so those expressions are built in `_Time`."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Interval,
    and_,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.model import DeliveryMethod, Direction
from ..ports.repositories.statistics import (
    BEFORE_STAGE,
    STAGE_STATUSES,
    Count,
    DaysCount,
    Dimension,
    HoursCount,
    Stage,
    StageItem,
)
from .finance_tables import finance_periods, reconciliation_runs
from .tables import UTCDateTime, dispatch_events, dispatches

d, e = dispatches.c, dispatch_events.c
COMPLETED = d.payload["completed_at"].as_string()
MATTER_CODE = d.payload["matter_code"].as_string()


_OFFSET = r"[+-][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"


def _const(sql: str):
    """A constant written into the statement: PostgreSQL takes a GROUP BY expression for the selected one
    only when both are the same text, which two bound parameters are not."""
    return literal_column(sql)


def _columns(*positions: int):
    """GROUP BY the selected columns by position (a JSON key is a bound parameter too)."""
    return [literal_column(str(n)) for n in positions]


class _Time:
    """Dialect-specific time expressions."""

    def __init__(self, dialect: str):
        self.pg = dialect == "postgresql"

    def completed(self):
        """The completion instant. PostgreSQL: the stored ISO text less its offset, minus the offset, as
        UTC: a plain cast refuses offsets past ±15:59 (ISO and Python allow up to ±23:59:59.999999)."""
        if not self.pg:
            return _sqlite_instant(COMPLETED)
        local = cast(func.regexp_replace(COMPLETED, _const(f"'{_OFFSET}$'"), _const("''")), DateTime())
        offset = func.coalesce(
            cast(func.substring(COMPLETED, _const(f"'({_OFFSET})$'")), Interval()), _const("interval '0'")
        )
        return func.timezone(_const("'UTC'"), local - offset)

    def seconds(self, later, earlier):
        """Whole seconds from `earlier` to `later` (rounded: julianday's floats are not exact)."""
        if self.pg:
            span = extract("epoch", later - earlier)
        else:
            span = (func.julianday(later) - func.julianday(earlier)) * _const("86400.0")
        return cast(func.round(span), BigInteger)

    def hours(self, later, earlier):
        return self.seconds(later, earlier) / _const("3600.0")

    def whole_hours(self, later, earlier):
        """Hours rounded up (a stage done 2.5 h after completion took 3)."""
        return (self.seconds(later, earlier) + 3599) // 3600

    def day(self, at):
        """The China calendar day of an instant."""
        if self.pg:
            return func.date(func.timezone(_const("'Asia/Shanghai'"), at))
        return func.date(at, _const("'+8 hours'"))

    def comparable(self, at):
        """An instant in a form that compares in time order (SQLite: stored text has offsets)."""
        return at if self.pg else func.julianday(at)

    def bound(self, at: datetime):
        if self.pg:
            return literal(at, UTCDateTime())
        return func.julianday(literal(at.astimezone(UTC).isoformat()))

    def month(self, at):
        if self.pg:
            return func.to_char(func.timezone(_const("'Asia/Shanghai'"), at), _const("'YYYY-MM'"))
        return func.strftime(_const("'%Y-%m'"), at, _const("'+8 hours'"))


def _stage_moves(stage: Stage, events=dispatch_events):
    c = events.c
    return and_(c.to_status.in_(STAGE_STATUSES[stage]), c.from_status != c.to_status)


def _sqlite_instant(iso):
    """SQLite: the Julian day of Python's ISO text `YYYY-MM-DDTHH:MM:SS[.ffffff][±HH:MM[:SS[.ffffff]]]`
    (julianday() itself gives NULL for offsets past ±14:00): the local part, less the offset."""
    tail = func.substr(iso, _const("20"))  # after the seconds: the fraction, then the offset
    at = func.max(func.instr(tail, _const("'+'")), func.instr(tail, _const("'-'")))
    offset = func.substr(tail, at)
    sign = case(
        (func.substr(offset, _const("1"), _const("1")) == _const("'-'"), _const("-1")), else_=_const("1")
    )
    seconds = (
        func.substr(offset, _const("2"), _const("2")) * _const("3600")
        + func.substr(offset, _const("5"), _const("2")) * _const("60")
        + func.substr(offset, _const("8")) * _const("1")
    )
    local = func.substr(iso, _const("1"), _const("18") + at)
    return case(
        (at > _const("0"), func.julianday(local) - sign * seconds / _const("86400.0")),
        else_=func.julianday(iso),
    )


def _first_moves(stage: Stage, start: datetime, end: datetime | None = None, hall: str | None = None):
    """(dispatch_id, at): the dispatches whose first move into the stage's statuses was in [start, end).
    The candidates are the moves in the range (an index range on (to_status, at)); each one's first move
    is looked up on its own events (ix_event_dispatch), so no query reads every earlier event. With a
    hall, the candidates are its dispatches changed since `start` (every move stamps updated_at), read by
    the (hall, updated_at) index, instead of the whole province's moves."""
    every = dispatch_events.alias("every")
    first_at = (
        select(func.min(every.c.at))
        .where(every.c.dispatch_id == e.dispatch_id, _stage_moves(stage, every))
        .scalar_subquery()
    )
    in_range = [_stage_moves(stage), e.at >= start] + ([e.at < end] if end is not None else [])
    if hall is not None:
        ours = select(d.id).where(d.hall == hall, d.updated_at >= start)
        in_range.append(e.dispatch_id.in_(ours))
    return (
        select(e.dispatch_id, func.min(e.at).label("at"))
        .where(*in_range)
        .group_by(e.dispatch_id)
        .having(first_at >= start)  # none before the range: its first move in the range is its first
        .subquery(f"first_{stage}")
    )


def _in_stage(stage: Stage):
    """The dispatches a stage applies to."""
    outbound = d.direction == Direction.OUTBOUND.value
    if stage == "handover":
        return and_(outbound, d.delivery_method != DeliveryMethod.PICKUP.value)
    return outbound


_MAILED_KEYS = {  # dimension: (its key's and its name's place in a mailed group)
    "month": (0, 0), "town": (1, 1), "village_point": (2, 2), "department": (3, 4), "matter": (5, 6),
}  # fmt: skip


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class SqlStatistics:
    def __init__(self, conn: AsyncConnection, hall: str | None = None):
        self._conn, self._hall = conn, hall
        self._t = _Time(conn.dialect.name)
        self._jit_off = False
        self._groups: dict[tuple, list[tuple]] = {}

    async def _read(self, query):
        """Run a figure's query. PostgreSQL: without JIT in this transaction, which its cost estimates
        (a per-dispatch subquery is costed as if it scanned) turn on and spend longer compiling than the
        query runs (a second against a few hundred milliseconds, measured on 100,000 dispatches)."""
        if self._t.pg and not self._jit_off:
            await self._conn.execute(text("SET LOCAL jit = off"))
            self._jit_off = True
        return await self._conn.execute(self._scoped(query))

    def _scoped(self, query):
        """Every query over dispatches passes here: the hall scope goes in this one place."""
        return query if self._hall is None else query.where(d.hall == self._hall)

    # The figures of one range are read in two grouped queries, one for the mailed counts and one per
    # stage for the times, kept for the unit of work: each dimension or shape is a fold of those groups
    # (far fewer rows than dispatches), not another pass over the month's moves.

    async def mailed(self, dimension: Dimension, start: datetime, end: datetime) -> list[Count]:
        if dimension not in _MAILED_KEYS:
            raise ValueError(f"unknown dimension {dimension!r}")
        counts: dict[str, int] = defaultdict(int)
        names: dict[str, str] = {}
        key_at, name_at = _MAILED_KEYS[dimension]
        for group in await self._mailed_groups(start, end):
            if dimension == "village_point" and group[7] != DeliveryMethod.VILLAGE_POINT.value:
                continue
            key = group[key_at] or ""
            counts[key] += group[-1]
            names[key] = max(names.get(key, ""), group[name_at] or "")
        found = [Count(k, names[k] or k, n) for k, n in counts.items()]
        if dimension == "month":
            return sorted(found, key=lambda x: x.key)
        return sorted(found, key=lambda x: (-x.count, x.key))

    async def _mailed_groups(self, start: datetime, end: datetime) -> list[tuple]:
        """(month, town, point, department, its name, matter, its name, delivery method, count)."""
        cache_key = ("mailed", start, end)
        if cache_key not in self._groups:
            first = _first_moves("handover", start, end, self._hall)
            query = (
                select(
                    self._t.month(first.c.at),
                    d.payload[("address", "town")].as_string(),
                    d.payload["village_point_code"].as_string(),
                    d.department_code,
                    func.max(d.payload["department_name"].as_string()),
                    MATTER_CODE,
                    func.max(d.payload["matter_name"].as_string()),
                    d.delivery_method,
                    func.count(),
                )
                .select_from(first.join(dispatches, d.id == first.c.dispatch_id))
                .where(_in_stage("handover"))
                .group_by(*_columns(1, 2, 3, 4, 6, 8))
            )
            self._groups[cache_key] = [tuple(row) for row in await self._read(query)]
        return self._groups[cache_key]

    async def _stage_groups(self, stage: Stage, start: datetime, end: datetime) -> list[tuple]:
        """(department, matter, whole hours, completion day, stage day, count)."""
        cache_key = (stage, start, end)
        if cache_key not in self._groups:
            first = _first_moves(stage, start, end, self._hall)
            completed = self._t.completed()
            query = (
                select(
                    d.department_code,
                    MATTER_CODE,
                    self._t.whole_hours(first.c.at, completed),
                    self._t.day(completed),
                    self._t.day(first.c.at),
                    func.count(),
                )
                .select_from(first.join(dispatches, d.id == first.c.dispatch_id))
                .where(_in_stage(stage))
                .group_by(*_columns(1, 2, 3, 4, 5))
            )
            self._groups[cache_key] = [tuple(row) for row in await self._read(query)]
        return self._groups[cache_key]

    async def stage_hours(self, stage: Stage, start: datetime, end: datetime) -> list[HoursCount]:
        counts: dict[tuple, int] = defaultdict(int)
        for dept, matter, hours, _, _, n in await self._stage_groups(stage, start, end):
            counts[(dept, matter or "", int(hours))] += n
        return [HoursCount(*key, n) for key, n in counts.items()]

    async def stage_days(self, stage: Stage, start: datetime, end: datetime) -> list[DaysCount]:
        counts: dict[tuple, int] = defaultdict(int)
        for dept, matter, _, completed_on, done_on, n in await self._stage_groups(stage, start, end):
            counts[(dept, matter or "", _as_date(completed_on), _as_date(done_on))] += n
        return [DaysCount(*key, n) for key, n in counts.items()]

    async def names(self) -> tuple[dict[str, str], dict[str, str]]:
        departments = select(d.department_code, func.max(d.payload["department_name"].as_string()))
        matters = select(MATTER_CODE, func.max(d.payload["matter_name"].as_string()))
        found = []
        for query in (departments, matters):
            rows = await self._read(query.group_by(*_columns(1)))
            found.append({code or "": name or "" for code, name in rows})
        return found[0], found[1]

    async def slow_items(
        self, stage: Stage, start: datetime, end: datetime, *, over_hours: float, now: datetime
    ) -> list[StageItem]:
        """Two index-led reads: the stage's moves since `start` (a dispatch completed in the range is moved
        after it) that came late, and the dispatches still in a status before the stage (by status)."""
        completed = self._t.completed()
        columns = (
            d.id, d.case_no, d.waybill_no, d.status, d.department_code,
            d.payload["department_name"].as_string(), MATTER_CODE, d.payload["matter_name"].as_string(),
            COMPLETED,
        )  # fmt: skip
        in_range = and_(
            _in_stage(stage),
            self._t.comparable(completed) >= self._t.bound(start),
            self._t.comparable(completed) < self._t.bound(end),
        )
        first = _first_moves(stage, start, hall=self._hall)
        done = (
            select(*columns, first.c.at)
            .select_from(first.join(dispatches, d.id == first.c.dispatch_id))
            .where(in_range, self._t.hours(first.c.at, completed) > over_hours)
        )
        still_open = (
            select(*columns, literal(None, UTCDateTime()).label("at"))
            .where(d.status.in_(BEFORE_STAGE[stage]), in_range)
            .where(self._t.hours(literal(now, UTCDateTime()), completed) > over_hours)
        )
        rows = [
            *await self._read(done),
            *await self._read(still_open),
        ]
        return [
            StageItem(
                i,
                case_no,
                waybill,
                status,
                dept,
                dept_name or "",
                matter or "",
                matter_name or "",
                datetime.fromisoformat(done).astimezone(UTC) if isinstance(done, str) else _aware(done),
                _aware(at) if at is not None else None,
            )
            for i, case_no, waybill, status, dept, dept_name, matter, matter_name, done, at in rows
        ]

    async def department_costs(self, periods: list[str]) -> dict[str, dict[str, int]]:
        if not periods:
            return {}
        r, f = reconciliation_runs.c, finance_periods.c
        months = select(f.hall, f.period, f.run_id).where(f.period.in_(periods), f.status == "closed")
        runs = select(r.id, r.hall, r.period, r.summary).where(r.period.in_(periods))
        if self._hall is not None:  # runs and months are each hall's own
            months, runs = months.where(f.hall == self._hall), runs.where(r.hall == self._hall)
        frozen = {(hall, period): run_id for hall, period, run_id in await self._conn.execute(months)}
        taken: set[tuple[str, str]] = set()
        found: dict[str, dict[str, int]] = {}
        for run_id, hall, period, summary in await self._conn.execute(
            runs.order_by(r.created_at.desc(), r.id)
        ):
            key = (hall, period)
            if run_id != frozen.get(key, run_id) or (key not in frozen and key in taken):
                continue  # not the closed month's frozen run, or older than the open month's newest
            taken.add(key)
            costs = found.setdefault(period, {})
            for s in summary.get("departments", []):
                costs[s["department_code"]] = costs.get(s["department_code"], 0) + s["amount_fen"]
        return found
