"""Failed citizen lookups per bucket (migration 0006), on the shared metadata: shared by every instance
and kept across restarts."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from .tables import UTCDateTime, metadata

citizen_failures = Table(
    "citizen_failures",
    metadata,
    Column("kind", String(8), primary_key=True),  # ip, waybill, case
    Column("key", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_started_at", UTCDateTime(), nullable=False),
    Column("window_ends_at", UTCDateTime(), nullable=False),
)
Index("ix_citizen_failures_end", citizen_failures.c.window_ends_at)
