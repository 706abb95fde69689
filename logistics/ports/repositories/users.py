"""Staff accounts and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    hall: str | None = None  # the hall the user works for; None: every hall (an admin's province view)


class Users(Protocol):
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
        ...

    async def replace_token(self, user_id: int) -> str:
        """A new API token for the user (shown once); the old one stops working."""
        ...

    async def revoke_token(self, user_id: int) -> None:
        """The user's API token stops working and no other takes its place."""
        ...

    async def clear_password(self, user_id: int) -> None: ...

    async def by_token(self, token: str) -> User | None: ...

    async def exists(self, name: str) -> bool: ...

    async def get(self, user_id: int) -> User | None: ...

    async def password_of(self, name: str) -> tuple[User, str | None] | None:
        """(the user, its password hash or None when it has none) by name."""
        ...

    async def set_password_hash(self, user_id: int, password_hash: str) -> bool: ...

    async def set_role(self, user_id: int, role: str) -> bool: ...

    async def by_name(self, name: str) -> User | None: ...

    async def list_all(self) -> list[dict]: ...
