"""What the tracking repositories share: the unit of work's open connection."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..tables import dispatches


class OnConnection:
    """`hall`: the unit of work's scope; reads and moves of dispatches (and what hangs on them) keep to it."""

    def __init__(self, conn: AsyncConnection, hall: str | None = None):
        self._conn, self.hall = conn, hall

    def _in_hall(self, query, id_column=None):
        """`query` kept to the hall's dispatches; `id_column`: the dispatch id the rows belong to (default:
        the query is over `dispatches` itself)."""
        if self.hall is None:
            return query
        if id_column is None:
            return query.where(dispatches.c.hall == self.hall)
        ours = select(dispatches.c.id).where(dispatches.c.id == id_column, dispatches.c.hall == self.hall)
        return query.where(ours.exists())

    @property
    def _dialect(self):
        """The dialect module whose insert has ON CONFLICT."""
        return postgresql if self._conn.dialect.name == "postgresql" else sqlite
