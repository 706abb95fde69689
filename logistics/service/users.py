"""Staff users: console passwords (argon2id), API tokens, roles, each change audited.

A password reset ends the user's sessions and replaces the API token (the new one is shown once); a
revoke ends the token, the sessions and the password at once, until an admin sets a new password or
issues a new token."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..domain.errors import Conflict, InvalidInput, NotFound
from ..ports import UnitOfWork, UnitOfWorkFactory
from ..ports.repositories.users import User
from .password_policy import check_password

ROLES = ("dispatcher", "finance", "admin")
ROLE_TEXT = {"dispatcher": "寄递员", "finance": "财务", "admin": "管理员"}

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
    uow: UnitOfWork, name: str, role: str, *, password: str | None, actor: str, now: datetime,
    hall: str | None = None,
) -> str:  # fmt: skip
    """The new user's API token. With a password the user can also sign in to the console. `hall`: the
    hall the user works for (None: every hall); a unit of work scoped to a hall creates its own users."""
    name, role = check_name(name), check_role(role)
    hall = uow.hall if uow.hall is not None else hall
    checked = check_password(password, name=name) if password is not None else None
    hashed = await asyncio.to_thread(hash_secret, checked) if checked is not None else None
    async with uow:
        if hall is not None and await uow.halls.get(hall) is None:
            raise InvalidInput([("hall", f"没有编码为 {hall} 的大厅 (no such hall)")])
        if await uow.users.exists(name):
            raise Conflict(f"用户 {name} 已存在")
        token = await uow.users.add(name, role, now=now, password_hash=hashed, hall=hall)
        detail = {"role": role, **({"hall": hall} if hall is not None else {})}
        await uow.console.audit(at=now, actor=actor, action="user.created", subject=name, **detail)
    return token


@dataclass(frozen=True)
class Reissued:
    name: str
    token: str  # the user's new API token, shown once


async def set_password(
    new_uow: UnitOfWorkFactory, user_id: int, password: str, *, actor: str, now: datetime
) -> Reissued:
    """Set a new password: the user's sessions end, a lock-out is lifted, and the API token is replaced
    (a reset is what follows a leak, so the old token must stop working too)."""
    async with new_uow(read_only=True) as uow:
        user = await _existing(uow, user_id)
    hashed = await asyncio.to_thread(hash_secret, check_password(password, name=user.name))
    async with new_uow() as uow:
        if not await uow.users.set_password_hash(user_id, hashed):
            raise NotFound("没有这个用户")
        await uow.console.drop_sessions_of(user_id)
        await uow.console.clear_failures(user.name.lower())
        token = await uow.users.replace_token(user_id)
        await uow.console.audit(at=now, actor=actor, action="user.password", subject=user.name)
    return Reissued(user.name, token)


async def issue_token(uow: UnitOfWork, user_id: int, *, actor: str, now: datetime) -> Reissued:
    """A new API token for the user; the old one stops working at once. Console sessions stay."""
    async with uow:
        user = await _existing(uow, user_id)
        token = await uow.users.replace_token(user_id)
        await uow.console.audit(at=now, actor=actor, action="user.token", subject=user.name)
    return Reissued(user.name, token)


async def revoke(uow: UnitOfWork, user_id: int, *, actor: str, now: datetime) -> str:
    """End the user's API token, console sessions and password at once; the user's name."""
    async with uow:
        user = await _existing(uow, user_id)
        await uow.users.revoke_token(user_id)
        await uow.users.clear_password(user_id)
        await uow.console.drop_sessions_of(user_id)
        await uow.console.audit(at=now, actor=actor, action="user.revoked", subject=user.name)
    return user.name


async def set_role(uow: UnitOfWork, user_id: int, role: str, *, actor: str, now: datetime) -> str:
    role = check_role(role)
    async with uow:
        user = await _existing(uow, user_id)
        if user.role != role:
            await uow.users.set_role(user_id, role)
            await uow.console.audit(
                at=now, actor=actor, action="user.role", subject=user.name, before=user.role, after=role
            )
    return user.name


async def by_name(uow: UnitOfWork, name: str) -> User:
    async with uow:
        user = await uow.users.by_name(name.strip())
    if user is None:
        raise NotFound(f"没有用户 {name.strip()}")
    return user


async def list_users(uow: UnitOfWork) -> list[dict]:
    async with uow:
        return await uow.users.list_all()


async def _existing(uow: UnitOfWork, user_id: int) -> User:
    user = await uow.users.get(user_id)
    if user is None:
        raise NotFound("没有这个用户")
    return user
