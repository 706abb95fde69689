"""Pull intake (migration 0007): the durable cursor per pull client, and the items it reported and skipped."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text

from .tables import Serial, UTCDateTime, metadata

pull_cursor = Table(
    "pull_cursor",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("cursor", Text, nullable=True),  # the approval system's opaque next_cursor; None: from the start
    Column("last_ok_at", UTCDateTime(), nullable=True),
    Column("last_attempt_at", UTCDateTime(), nullable=True),
    Column("last_error", String(200), nullable=True),  # a code and a short reason, never item content
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=True),  # backoff: no poll before this
    Column("pulled", Integer, nullable=False, default=0),  # items taken (new or replayed)
    Column("rejected", Integer, nullable=False, default=0),
)

pull_rejects = Table(
    "pull_rejects",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("client_id", String(64), nullable=False),
    Column("after", Text, nullable=True),  # the page's cursor (the `after` it was asked with)
    Column("position", Integer, nullable=False),  # the item's place in that page
    Column("case_no", String(64), nullable=True),
    Column("reason", String(16), nullable=False),  # invalid | conflict | too_large
    Column("errors", JSON, nullable=False),  # [{"field", "message"}]: names and rules, no personal data
    Column("at", UTCDateTime(), nullable=False),
)
Index("ix_pull_rejects_at", pull_rejects.c.at)
