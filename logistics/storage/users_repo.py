"""Staff users. Only a hash of each API token is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..ports.repositories.users import User
from .tables import users

# A revoked token's hash is replaced by this prefix and random letters: no SHA-256 hex digest equals it,
# so no token opens the account, and the column stays unique and not null.
REVOKED = "revoked:"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "cp_" + secrets.token_urlsafe(32)


class SqlUsers:
    """Users are found by token or name whatever the scope; a hall's unit of work lists only its own."""

    def __init__(self, conn: AsyncConnection, hall: str | None = None):
        self._conn, self.hall = conn, hall

    async def add(
        self,
        name: str,
        role: str,
        *,
        now: datetime,
        password_hash: str | None = None,
        hall: str | None = None,
    ) -> str:
        """Create the user and return its new API token (shown once)."""
        token = new_token()
        await self._conn.execute(
            insert(users).values(
                name=name,
                role=role,
                token_hash=token_hash(token),
                created_at=now,
                password_hash=password_hash,
                hall=hall,
            )
        )
        return token

    async def replace_token(self, user_id: int) -> str:
        """A new API token for the user (shown once); the old one stops working."""
        token = new_token()
        await self._conn.execute(
            update(users).where(users.c.id == user_id).values(token_hash=token_hash(token))
        )
        return token

    async def revoke_token(self, user_id: int) -> None:
        """The user's API token stops working and no other takes its place."""
        revoked = REVOKED + secrets.token_hex(28)
        await self._conn.execute(update(users).where(users.c.id == user_id).values(token_hash=revoked))

    async def clear_password(self, user_id: int) -> None:
        await self._conn.execute(update(users).where(users.c.id == user_id).values(password_hash=None))

    async def by_token(self, token: str) -> User | None:
        row = (
            await self._conn.execute(
                select(users.c.id, users.c.name, users.c.role, users.c.hall).where(
                    users.c.token_hash == token_hash(token)
                )
            )
        ).first()
        return User(*row) if row else None

    async def exists(self, name: str) -> bool:
        return (await self._conn.scalar(select(users.c.id).where(users.c.name == name))) is not None

    # ---- console passwords (issue 7); hashing itself is logistics.service.users ----------------------

    async def get(self, user_id: int) -> User | None:
        row = (
            await self._conn.execute(
                select(users.c.id, users.c.name, users.c.role, users.c.hall).where(users.c.id == user_id)
            )
        ).first()
        return User(*row) if row else None

    async def password_of(self, name: str) -> tuple[User, str | None] | None:
        """(the user, its password hash or None when it has none) by name."""
        query = select(users.c.id, users.c.name, users.c.role, users.c.hall, users.c.password_hash).where(
            users.c.name == name
        )
        row = (await self._conn.execute(query)).first()
        return (User(row.id, row.name, row.role, row.hall), row.password_hash) if row else None

    async def set_password_hash(self, user_id: int, password_hash: str) -> bool:
        result = await self._conn.execute(
            update(users).where(users.c.id == user_id).values(password_hash=password_hash)
        )
        return result.rowcount == 1

    async def set_role(self, user_id: int, role: str) -> bool:
        result = await self._conn.execute(update(users).where(users.c.id == user_id).values(role=role))
        return result.rowcount == 1

    async def by_name(self, name: str) -> User | None:
        query = select(users.c.id, users.c.name, users.c.role, users.c.hall).where(users.c.name == name)
        row = (await self._conn.execute(query)).first()
        return User(*row) if row else None

    async def list_all(self) -> list[dict]:
        query = select(
            users.c.id,
            users.c.name,
            users.c.role,
            users.c.password_hash,
            users.c.token_hash,
            users.c.created_at,
            users.c.hall,
        )
        if self.hall is not None:
            query = query.where(users.c.hall == self.hall)
        rows = await self._conn.execute(query.order_by(users.c.name))
        return [
            {"id": r.id, "name": r.name, "role": r.role, "has_password": bool(r.password_hash),
             "has_token": not r.token_hash.startswith(REVOKED), "created_at": r.created_at,
             "hall": r.hall}
            for r in rows
        ]  # fmt: skip
