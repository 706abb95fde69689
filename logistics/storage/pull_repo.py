"""The pull cursor and the rejected items (pull_tables): reads for /healthz and the console, and the
writes of one page, made in the transaction that stores its dispatches (`ports.repositories.pull`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..ports.repositories.pull import CursorState, Reject
from .pull_tables import pull_cursor, pull_rejects


class SqlPullCursors:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    async def ensure(self, client_id: str) -> None:
        """The client's cursor row, created at the start (cursor None) if it is not there yet."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        row = {"client_id": client_id, "consecutive_failures": 0, "pulled": 0, "rejected": 0}
        stmt = dialect.insert(pull_cursor).values(**row)
        await self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["client_id"]))

    async def state(self, client_id: str) -> CursorState | None:
        query = select(pull_cursor).where(pull_cursor.c.client_id == client_id)
        row = (await self.conn.execute(query)).first()
        return CursorState(**row._mapping) if row else None

    async def advance(
        self, client_id: str, *, after: str | None, to: str | None, now: datetime, pulled: int, rejected: int
    ) -> bool:
        """Move the cursor from `after` to `to` (compare-and-set) and record a success. False when the
        cursor is no longer at `after` (another instance took the page): the caller rolls back."""
        c = pull_cursor.c
        at_after = c.cursor.is_(None) if after is None else c.cursor == after
        done = await self.conn.execute(
            update(pull_cursor)
            .where(c.client_id == client_id, at_after)
            .values(
                cursor=to,
                last_ok_at=now,
                last_attempt_at=now,
                last_error=None,
                consecutive_failures=0,
                next_attempt_at=None,
                pulled=c.pulled + pulled,
                rejected=c.rejected + rejected,
            )
        )
        return done.rowcount == 1

    async def failed(self, client_id: str, *, error: str, now: datetime, retry_at: datetime) -> None:
        c = pull_cursor.c
        await self.conn.execute(
            update(pull_cursor)
            .where(c.client_id == client_id)
            .values(
                last_error=error[:200],
                last_attempt_at=now,
                next_attempt_at=retry_at,
                consecutive_failures=c.consecutive_failures + 1,
            )
        )

    async def add_rejects(self, client_id: str, rejects: list[Reject]) -> None:
        if rejects:
            await self.conn.execute(pull_rejects.insert(), [_row(client_id, r) for r in rejects])

    async def recent_rejects(self, client_id: str, *, limit: int = 50) -> list[Reject]:
        t = pull_rejects.c
        rows = await self.conn.execute(
            select(t.after, t.position, t.case_no, t.reason, t.errors, t.at)
            .where(t.client_id == client_id)
            .order_by(t.id.desc())
            .limit(limit)
        )
        return [Reject(**r._mapping) for r in rows]

    async def reject_count(self, client_id: str) -> int:
        t = pull_rejects.c
        query = select(func.count()).select_from(pull_rejects).where(t.client_id == client_id)
        return await self.conn.scalar(query)


def _row(client_id: str, r: Reject) -> dict:
    return {
        "client_id": client_id, "after": r.after, "position": r.position, "case_no": r.case_no,
        "reason": r.reason, "errors": r.errors, "at": r.at,
    }  # fmt: skip
