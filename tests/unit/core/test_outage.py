"""Telling the database being away from other errors, and what the group committer does with it."""

import asyncio
import sqlite3

import pytest
from sqlalchemy import exc

from logistics.storage.group_commit import GroupCommitter
from logistics.storage.outage import DatabaseUnavailable, database_unavailable


def _wrapped(cls, orig, **kw):
    try:
        raise cls("SELECT 1", {}, orig, **kw) from orig
    except exc.DBAPIError as e:
        return e


class CannotConnectNow(Exception):
    sqlstate = "57P03"  # the database system is starting up


class UniqueViolation(Exception):
    sqlstate = "23505"


@pytest.mark.parametrize(
    ("error", "away"),
    [
        (_wrapped(exc.DBAPIError, Exception("closed"), connection_invalidated=True), True),
        (_wrapped(exc.OperationalError, sqlite3.OperationalError("database is locked")), True),
        (sqlite3.OperationalError("database is locked"), True),
        (_wrapped(exc.DBAPIError, CannotConnectNow()), True),
        (exc.TimeoutError("QueuePool limit reached"), True),
        (DatabaseUnavailable("too many kept"), True),
        (_wrapped(exc.IntegrityError, UniqueViolation()), False),
        (_wrapped(exc.OperationalError, sqlite3.OperationalError("no such table: x")), False),
        (ConnectionRefusedError("not from a database driver"), False),
        (ValueError("bad input"), False),
    ],
)
def test_database_unavailable(error, away):
    assert database_unavailable(error) is away


def test_an_outage_anywhere_in_the_chain_counts():
    try:
        try:
            raise _wrapped(exc.DBAPIError, CannotConnectNow())
        except exc.DBAPIError as e:
            raise RuntimeError("generator didn't stop") from e
    except RuntimeError as e:
        assert database_unavailable(e)


class Away:
    """A unit-of-work factory whose every transaction finds the database away."""

    def __init__(self):
        self.opened = 0

    def __call__(self, *, read_only=False):
        return self

    async def __aenter__(self):
        self.opened += 1
        raise _wrapped(exc.DBAPIError, CannotConnectNow())

    async def __aexit__(self, *exc_info):
        return None


async def test_without_keeping_an_outage_answers_the_whole_round_at_once():
    uow = Away()
    committer = GroupCommitter(uow, lambda uow, items: items)
    await committer.start()
    try:
        results = await asyncio.gather(*(committer.submit(i) for i in range(5)), return_exceptions=True)
    finally:
        await committer.stop()
    assert all(database_unavailable(r) for r in results)
    assert uow.opened == 1  # not tried again item by item: none of them is at fault
