"""What the tracking repositories share: the unit of work's open connection."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


class OnConnection:
    def __init__(self, conn: AsyncConnection):
        self._conn = conn

    @property
    def _dialect(self):
        """The dialect module whose insert has ON CONFLICT."""
        return postgresql if self._conn.dialect.name == "postgresql" else sqlite
