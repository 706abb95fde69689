"""Staff users of the console: passwords (argon2id), roles, each change audited."""

from __future__ import annotations

import asyncio
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine

from ..domain.errors import Conflict, InvalidInput, NotFound
from ..storage import console_repo, users_repo

ROLES = ("dispatcher", "finance", "admin")
ROLE_TEXT = {"dispatcher": "寄递员", "finance": "财务", "admin": "管理员"}
MIN_PASSWORD = 8
MAX_PASSWORD = 256

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("certpost: a password nobody has")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored: str | None, secret: str) -> bool:
    """Constant work whether or not there is a hash to check against."""
    try:
        return _hasher.verify(stored or _DUMMY, secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_secret_async(stored: str | None, secret: str) -> bool:
    return await asyncio.to_thread(verify_secret, stored, secret)


def check_password(password: str, field: str = "password") -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput([(field, f"密码至少 {MIN_PASSWORD} 位")])
    if len(password) > MAX_PASSWORD:
        raise InvalidInput([(field, f"密码最多 {MAX_PASSWORD} 位")])
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput([("role", "角色必须是 寄递员、财务 或 管理员 (dispatcher, finance, admin)")])
    return role


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise InvalidInput([("name", "用户名不能为空、不能含空格，最多 64 个字符")])
    return name


async def create(
    engine: AsyncEngine, name: str, role: str, *, password: str | None, actor: str, now: datetime
) -> str:
    """The new user's API token. With a password the user can also sign in to the console."""
    name, role = check_name(name), check_role(role)
    hashed = await asyncio.to_thread(hash_secret, check_password(password)) if password is not None else None
    async with engine.begin() as conn:
        if await users_repo.exists(conn, name):
            raise Conflict(f"用户 {name} 已存在")
        token = await users_repo.add(conn, name, role, now=now, password_hash=hashed)
        await console_repo.audit(conn, at=now, actor=actor, action="user.created", subject=name, role=role)
    return token


async def set_password(engine: AsyncEngine, user_id: int, password: str, *, actor: str, now: datetime) -> str:
    """Set a new password; the user's sessions end and a lock-out is lifted. Returns the user's name."""
    hashed = await asyncio.to_thread(hash_secret, check_password(password))
    async with engine.begin() as conn:
        user = await users_repo.get(conn, user_id)
        if user is None:
            raise NotFound("没有这个用户")
        await users_repo.set_password_hash(conn, user_id, hashed)
        await console_repo.drop_sessions_of(conn, user_id)
        await console_repo.clear_failures(conn, user.name.lower())
        await console_repo.audit(conn, at=now, actor=actor, action="user.password", subject=user.name)
    return user.name


async def set_role(engine: AsyncEngine, user_id: int, role: str, *, actor: str, now: datetime) -> str:
    role = check_role(role)
    async with engine.begin() as conn:
        user = await users_repo.get(conn, user_id)
        if user is None:
            raise NotFound("没有这个用户")
        if user.role != role:
            await users_repo.set_role(conn, user_id, role)
            await console_repo.audit(
                conn, at=now, actor=actor, action="user.role", subject=user.name, before=user.role, after=role
            )
    return user.name


async def set_password_by_name(engine: AsyncEngine, name: str, password: str, *, actor: str, now: datetime):
    async with engine.connect() as conn:
        found = await users_repo.password_of(conn, name)
    if found is None:
        raise NotFound(f"没有用户 {name}")
    return await set_password(engine, found[0].id, password, actor=actor, now=now)


async def list_users(engine: AsyncEngine) -> list[dict]:
    async with engine.connect() as conn:
        return await users_repo.list_all(conn)
