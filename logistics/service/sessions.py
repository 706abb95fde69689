"""Console sign-in: password check, lock-out after repeated failures, sessions with a CSRF token.

The cookie value is a random token; only its SHA-256 is stored, so a leaked table opens no session.
Failures are counted per name as typed, known or not, so a lock-out tells nobody whether a name exists."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.errors import DomainError
from ..ports import UnitOfWork, UnitOfWorkFactory
from ..ports.repositories.console import Attempt
from ..ports.repositories.users import User
from .console_text import cn_time
from .users import verify_secret_async

TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Policy:
    session_hours: float = 10.0
    max_failures: int = 5
    lockout_minutes: float = 15.0


class LoginRefused(DomainError):
    """Wrong name or password, or locked: the message is the same Chinese sentence for both wrong cases."""

    def __init__(self, message: str, *, locked_until: datetime | None = None):
        super().__init__(message)
        self.locked_until = locked_until


@dataclass(frozen=True)
class Session:
    token: str  # the cookie value (only at sign-in)
    id_hash: str
    user: User
    csrf_token: str
    expires_at: datetime


WRONG = "用户名或密码错误"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key(name: str) -> str:
    return name.strip().lower()[:64]


def locked_message(until: datetime) -> str:
    return f"连续输错密码次数过多，账号已锁定至 {cn_time(until)}，请稍后再试或联系管理员重置密码"


async def login(
    new_uow: UnitOfWorkFactory, name: str, password: str, *, now: datetime, policy: Policy
) -> Session:
    """A session for the right name and password. Each attempt is counted before its password is checked,
    so parallel attempts cannot all be checked past `policy.max_failures`: after that even the right
    password is refused until the lock-out ends."""
    key = _key(name)
    window = timedelta(minutes=policy.lockout_minutes)
    async with new_uow() as uow:
        attempt = await uow.console.reserve_login_attempt(
            key, now=now, limit=policy.max_failures, window=window
        )
        if attempt is None:
            record = await uow.console.failures_of(key)
            await uow.console.audit(at=now, actor=key, action="login.refused_locked", subject=key)
        else:
            found = await uow.users.password_of(name.strip())
    if attempt is None:
        until = record.locked_until if record and record.locked_until else now + window
        raise LoginRefused(locked_message(until), locked_until=until)
    user, stored = found if found else (None, None)
    if not await verify_secret_async(stored, password) or user is None:
        await _failed(new_uow(), key, attempt, now=now)
    return await _open(new_uow(), user, key, now=now, policy=policy)


async def _failed(uow: UnitOfWork, key: str, attempt: Attempt, *, now: datetime) -> None:
    """The attempt stays counted; audit it (and the lock-out it caused) and refuse."""
    async with uow:
        await uow.console.audit(
            at=now, actor=key, action="login.failed", subject=key, failures=attempt.number
        )
        if attempt.locked_until:
            await uow.console.audit(
                at=now, actor="system", action="login.locked", subject=key,
                failures=attempt.number, until=attempt.locked_until.isoformat(),
            )  # fmt: skip
    if attempt.locked_until:
        raise LoginRefused(locked_message(attempt.locked_until), locked_until=attempt.locked_until)
    raise LoginRefused(WRONG)


async def _open(uow: UnitOfWork, user: User, key: str, *, now: datetime, policy: Policy) -> Session:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=policy.session_hours)
    async with uow:
        await uow.console.clear_failures(key)
        await uow.console.drop_expired(now)
        await uow.console.add_session(
            id_hash=_hash(token), user_id=user.id, csrf_token=csrf, now=now, expires_at=expires_at
        )
        await uow.console.audit(at=now, actor=user.name, action="login", subject=user.name)
    return Session(token, _hash(token), user, csrf, expires_at)


async def resolve(new_uow: UnitOfWorkFactory, token: str, *, now: datetime, policy: Policy) -> Session | None:
    """The live session behind a cookie value, its expiry pushed forward; None when unknown or expired."""
    if not token or len(token) > 128:
        return None
    id_hash = _hash(token)
    async with new_uow(read_only=True) as uow:
        row = await uow.console.get_session(id_hash)
        user = await uow.users.get(row.user_id) if row else None
    if row is None or user is None or row.expires_at <= now:
        return None
    expires_at = row.expires_at
    if now - row.last_seen_at >= TOUCH_EVERY:
        expires_at = now + timedelta(hours=policy.session_hours)
        async with new_uow() as uow:
            await uow.console.touch_session(id_hash, now=now, expires_at=expires_at)
    return Session("", id_hash, user, row.csrf_token, expires_at)


async def logout(uow: UnitOfWork, session: Session, *, now: datetime) -> None:
    async with uow:
        await uow.console.drop_session(session.id_hash)
        await uow.console.audit(at=now, actor=session.user.name, action="logout", subject=session.user.name)


def csrf_ok(session: Session, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf_token.encode(), presented.encode())
