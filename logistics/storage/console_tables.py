"""Tables of the back-office console (migration 0006): browser sessions, login failures and lock-outs,
the console's own audit log, and one-time pickup codes. On the shared metadata."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Table, Text

from .tables import Serial, UTCDateTime, metadata

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie value; the value is never stored
    Column("user_id", BigInteger, nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)
Index("ix_console_session_user", console_sessions.c.user_id)

login_failures = Table(
    "login_failures",
    metadata,
    Column("name", String(64), primary_key=True),  # as typed (lower-cased), known user or not
    Column("failures", Integer, nullable=False),
    Column("first_failed_at", UTCDateTime(), nullable=False),
    Column("locked_until", UTCDateTime(), nullable=True),
)

console_audit = Table(
    "console_audit",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(40), nullable=False),  # login, login.failed, login.locked, user.created ...
    Column("subject", String(120), nullable=False),
    Column("detail", JSON, nullable=False),
)
Index("ix_console_audit_at", console_audit.c.at)

pickup_codes = Table(
    "pickup_codes",
    metadata,
    Column("dispatch_id", String(36), primary_key=True),  # one live code per dispatch; a new one replaces it
    Column("code_hash", Text, nullable=False),  # argon2 hash of the six digits
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
    Column("created_by", String(64), nullable=False),
)

pickup_slips = Table(
    "pickup_slips",
    metadata,
    # a pickup code that goes on paper (取件通知单): no SMS gateway, or the SMS was refused (migration 0013)
    Column("dispatch_id", String(36), primary_key=True),
    Column("reason", Text, nullable=False),  # why on paper, in Chinese (never the code)
    Column("queued_at", UTCDateTime(), nullable=False),
    Column("printed_at", UTCDateTime(), nullable=True),  # None: waiting to be printed
    Column("printed_by", String(64), nullable=True),
)
