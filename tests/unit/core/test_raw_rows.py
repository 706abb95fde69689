"""The raw intake rows convert values exactly as SQLAlchemy would for the same columns."""

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from logistics.storage.sqlite.raw_rows import RawRows, _bind, _utc_text
from logistics.storage.tables import dispatch_events, dispatches, jobs


def _datetimes():
    rng = random.Random(7)
    zones = [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
    fixed = [
        datetime(2026, 3, 9, 17, 4, 5, 123456, tzinfo=zones[1]),
        datetime(2026, 3, 9, 17, 4, 5, tzinfo=zones[1]),  # no microseconds: still ".000000"
        datetime(2026, 1, 1, 3, 0, 0, 1, tzinfo=zones[1]),  # the day before in UTC
        datetime(2, 1, 1, 12, 0, tzinfo=UTC),  # four-digit year
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    start = datetime(1990, 1, 1, tzinfo=UTC)
    randoms = [
        (
            start + timedelta(seconds=rng.randrange(2_000_000_000), microseconds=rng.randrange(10**6))
        ).astimezone(rng.choice(zones))
        for _ in range(500)
    ]
    return fixed + randoms


def test_the_datetime_text_is_sqlalchemys():
    dialect = sqlite.dialect()
    assert RawRows(dialect).when is _utc_text  # the fast path is the one in use
    sqlalchemy_text = _bind(dispatches.c.created_at, dialect)
    for value in _datetimes():
        assert _utc_text(value) == sqlalchemy_text(value), value


def test_a_naive_datetime_is_refused_as_sqlalchemy_refuses_it():
    naive = datetime(2026, 3, 9, 17, 4, 5)
    with pytest.raises(ValueError):
        _utc_text(naive)
    with pytest.raises(ValueError):
        _bind(dispatches.c.created_at, sqlite.dialect())(naive)


def test_one_json_and_one_datetime_converter_serve_every_column_written():
    """`RawRows.json` and `RawRows.when` are built for the dispatch columns and used for all others."""
    for column in (dispatches.c.response, dispatch_events.c.detail, jobs.c.payload):
        assert type(column.type) is type(dispatches.c.payload.type)
    for column in (dispatches.c.updated_at, dispatch_events.c.at, jobs.c.run_after, jobs.c.created_at):
        assert type(column.type) is type(dispatches.c.created_at.type)
