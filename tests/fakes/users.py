"""`ports.repositories.users.Users` in memory: staff accounts, API tokens kept only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from logistics.ports.repositories.users import User

from .base import FakeRepository
from .store import IntegrityError


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: dict) -> User:
    return User(row["id"], row["name"], row["role"], row.get("hall"))


class FakeUsers(FakeRepository):
    def _by(self, **where) -> dict | None:
        for row in self._read.users.values():
            if all(row[k] == v for k, v in where.items()):
                return row
        return None

    async def add(
        self,
        name: str,
        role: str,
        *,
        now: datetime,
        password_hash: str | None = None,
        hall: str | None = None,
    ) -> str:
        t = self._write
        if self._by(name=name):
            raise IntegrityError(f"users.name {name!r} is taken")
        token = "cp_" + secrets.token_urlsafe(32)
        user_id = t.next_id("users")
        t.users[user_id] = dict(id=user_id, name=name, role=role, token_hash=token_hash(token),
                                password_hash=password_hash, created_at=now, hall=hall)  # fmt: skip
        return token

    async def replace_token(self, user_id: int) -> str:
        token = "cp_" + secrets.token_urlsafe(32)
        row = self._write.users.get(user_id)
        if row:
            row["token_hash"] = token_hash(token)
        return token

    async def revoke_token(self, user_id: int) -> None:
        row = self._write.users.get(user_id)
        if row:
            row["token_hash"] = None  # no token's hash equals it

    async def clear_password(self, user_id: int) -> None:
        row = self._write.users.get(user_id)
        if row:
            row["password_hash"] = None

    async def by_token(self, token: str) -> User | None:
        row = self._by(token_hash=token_hash(token))
        return _user(row) if row else None

    async def exists(self, name: str) -> bool:
        return self._by(name=name) is not None

    async def get(self, user_id: int) -> User | None:
        row = self._read.users.get(user_id)
        return _user(row) if row else None

    async def password_of(self, name: str) -> tuple[User, str | None] | None:
        row = self._by(name=name)
        return (_user(row), row["password_hash"]) if row else None

    async def set_password_hash(self, user_id: int, password_hash: str) -> bool:
        row = self._write.users.get(user_id)
        if row:
            row["password_hash"] = password_hash
        return row is not None

    async def set_role(self, user_id: int, role: str) -> bool:
        row = self._write.users.get(user_id)
        if row:
            row["role"] = role
        return row is not None

    async def by_name(self, name: str) -> User | None:
        row = self._by(name=name)
        return _user(row) if row else None

    async def list_all(self) -> list[dict]:
        return [
            {"id": r["id"], "name": r["name"], "role": r["role"], "has_password": bool(r["password_hash"]),
             "has_token": r["token_hash"] is not None, "created_at": r["created_at"],
             "hall": r.get("hall")}
            for r in sorted(self._read.users.values(), key=lambda r: r["name"])
            if self._uow.hall is None or r.get("hall") == self._uow.hall
        ]  # fmt: skip
