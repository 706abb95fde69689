"""Intake rows as plain DB-API tuples, for SQLite's fast intake writer (`FastIntake`).

SQLAlchemy's per-row work (bind processors, statement compilation and caching) costs more than
SQLite itself for small inserts. Here the rows are built once, in the group commit's batch, with the
very converters SQLAlchemy would use: `type.bind_processor(dialect)` of each column, for the writer
engine's dialect (the datetime text by an equivalent shortcut, pinned by a test). The stored text is
therefore exactly what `insert(...)` of `dispatch_codec`'s rows would have written, and reads back the
same through `SqlDispatches.get` and `events`. The batch then runs a few `executemany` calls with
precomputed SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Dialect, Table

from ...domain.masking import phone_last4
from ...domain.model import AuditEvent, Dispatch
from .. import dispatch_codec
from ..tables import dispatch_events, dispatches, jobs

DISPATCH_COLUMNS = (
    "id", "client_id", "case_no", "request_hash", "payload", "response", "status", "direction",
    "delivery_method", "department_code", "phone_last4", "recipient_key", "order_no", "waybill_no",
    "reason", "created_at", "updated_at", "hall",
)  # fmt: skip
EVENT_COLUMNS = ("dispatch_id", "at", "actor", "cause", "from_status", "to_status", "detail")
JOB_COLUMNS = (
    "kind", "payload", "dedupe_key", "state", "attempts", "max_attempts", "run_after", "lease_until",
    "locked_by", "last_error", "created_at", "updated_at",
)  # fmt: skip


def _insert_sql(table: Table, columns: tuple[str, ...], suffix: str = "") -> str:
    generated = {c.name for c in table.primary_key.columns if c.autoincrement is True}
    if set(columns) != set(table.c.keys()) - generated:  # a new column must get its value here too
        raise RuntimeError(f"raw rows of {table.name} are out of date with the schema")
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}){suffix}"


DISPATCH_SQL = _insert_sql(dispatches, DISPATCH_COLUMNS)
EVENT_SQL = _insert_sql(dispatch_events, EVENT_COLUMNS)
JOB_SQL = _insert_sql(jobs, JOB_COLUMNS, " ON CONFLICT (dedupe_key) DO NOTHING")
CASES_SQL = (
    "SELECT client_id, case_no, direction, request_hash, response FROM dispatches "
    "WHERE case_no IN (SELECT value FROM json_each(?))"
)


def _same(value: Any) -> Any:
    return value


def _bind(column, dialect: Dialect) -> Callable[[Any], Any]:
    # dialect_impl: the type as this dialect runs it (a TypeDecorator's own bind_processor would skip
    # its impl's, e.g. SQLite's DATETIME text format)
    return column.type.dialect_impl(dialect).bind_processor(dialect) or _same


# SQLAlchemy's text format of a DATETIME on SQLite (its default `storage_format`)
SQLITE_DATETIME = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"


def _utc_text(value: datetime) -> str:
    """What `UTCDateTime` and then SQLite's DATETIME make of an aware datetime, without formatting
    a dict of its seven parts (about five times cheaper)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime stored")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _when(dialect: Dialect) -> Callable[[datetime], Any]:
    impl = dispatches.c.created_at.type.dialect_impl(dialect)
    if getattr(impl.impl, "_storage_format", None) == SQLITE_DATETIME:
        return _utc_text
    return _bind(dispatches.c.created_at, dialect)


class RawRows:
    """Converters and statements for one (SQLite) dialect. `json` and `when` serve every JSON and
    datetime column written here (tests/unit/core/test_raw_rows.py pins that their types are the same)."""

    def __init__(self, dialect: Dialect):
        self.json: Callable[[Any], str] = _bind(dispatches.c.payload, dialect)
        self.when: Callable[[datetime], Any] = _when(dialect)
        self.read_json = (
            dispatches.c.response.type.dialect_impl(dialect).result_processor(dialect, None) or _same
        )

    def dispatch(self, d: Dispatch, request_hash: str, response_text: str, stamp: Any) -> tuple:
        """The row of a new dispatch (`dispatch_codec.dispatch_row`): `response_text` is the JSON of its
        first answer; `stamp` is `self.when(d.created_at)`."""
        return (
            d.id, d.client_id, d.case_no, request_hash, self.json(dispatch_codec.payload(d)), response_text,
            d.status.value, d.direction.value, d.delivery_method.value, d.department_code,
            phone_last4(d.recipient.phone), dispatch_codec.recipient_key(d.recipient.name), d.order_no,
            d.waybill_no, d.reason, stamp, stamp, d.hall,
        )  # fmt: skip

    def event(self, dispatch_id: str, e: AuditEvent, stamp: Any) -> tuple:
        """An audit event row (`dispatch_codec.event_row`); `stamp` is `self.when(e.at)`."""
        return (
            dispatch_id, stamp, e.actor, e.recorded_cause, e.from_status.value if e.from_status else None,
            e.to_status.value if e.to_status else None, self.json(e.detail),
        )  # fmt: skip

    def job(self, kind: str, payload: dict, dedupe_key: str | None, max_attempts: int, stamp: Any) -> tuple:
        """A pending job due now (`queue.insert_jobs` with no delay); `stamp` is `self.when(now)`."""
        return (kind, self.json(payload), dedupe_key, "pending", 0, max_attempts, stamp, None, None, "",
                stamp, stamp)  # fmt: skip

    def stored_cases(self, dbapi_conn, keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], tuple]:
        """{(client_id, case_no, direction): (request_hash, response)} for the keys already stored."""
        cases = self.json(sorted({case for _, case, _ in keys}))
        found = {}
        for client_id, case_no, direction, request_hash, response in dbapi_conn.execute(CASES_SQL, (cases,)):
            if (client_id, case_no, direction) in keys:
                found[client_id, case_no, direction] = (request_hash, self.read_json(response))
        return found

    @staticmethod
    def write(dbapi_conn, dispatch_rows: list, event_rows: list, job_rows: list) -> None:
        if dispatch_rows:
            dbapi_conn.executemany(DISPATCH_SQL, dispatch_rows)
        if event_rows:
            dbapi_conn.executemany(EVENT_SQL, event_rows)
        if job_rows:
            dbapi_conn.executemany(JOB_SQL, job_rows)
