"""Staff users. Only a hash of each API token is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .tables import users


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def add(conn: AsyncConnection, name: str, role: str, *, now: datetime) -> str:
    """Create the user and return its new API token (shown once)."""
    token = "cp_" + secrets.token_urlsafe(32)
    await conn.execute(
        insert(users).values(name=name, role=role, token_hash=token_hash(token), created_at=now)
    )
    return token


async def by_token(conn: AsyncConnection, token: str) -> User | None:
    row = (
        await conn.execute(
            select(users.c.id, users.c.name, users.c.role).where(users.c.token_hash == token_hash(token))
        )
    ).first()
    return User(*row) if row else None


async def exists(conn: AsyncConnection, name: str) -> bool:
    return (await conn.scalar(select(users.c.id).where(users.c.name == name))) is not None
