"""Tables for tracking, outbound notices and counters (migration 0003), on the shared metadata."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .tables import Serial, UTCDateTime, metadata

carrier_events = Table(
    "carrier_events",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("waybill_no", String(32), nullable=False),
    Column("time", UTCDateTime(), nullable=False),
    Column("raw_code", String(16), nullable=False),
    Column("status", String(24), nullable=False),
    Column("description", Text, nullable=False),
    Column("location", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("extra", JSON, nullable=False),
    Column("source", String(8), nullable=False),  # push, poll
    Column("applied", Boolean, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    # The same scan pushed twice, or pushed and polled, is one row.
    UniqueConstraint("waybill_no", "raw_code", "time", name="uq_carrier_event"),
)
Index("ix_carrier_event_waybill", carrier_events.c.waybill_no, carrier_events.c.time)

tracking = Table(
    "tracking",
    metadata,
    Column("dispatch_id", String(36), primary_key=True),
    Column("waybill_no", String(32), nullable=False, unique=True),
    Column("active", Boolean, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("last_event_at", UTCDateTime(), nullable=True),  # newest scan seen
    Column("applied_at", UTCDateTime(), nullable=True),  # newest scan that moved or confirmed the status
    Column("next_poll_at", UTCDateTime(), nullable=True),
    Column("last_polled_at", UTCDateTime(), nullable=True),
    Column("polls", Integer, nullable=False, default=0),
)
Index("ix_tracking_due", tracking.c.active, tracking.c.next_poll_at)

notices = Table(
    "notices",
    metadata,
    Column("id", String(36), primary_key=True),  # the event_id the receiver dedupes on
    Column("channel", String(12), nullable=False),  # callback, sms
    Column("kind", String(24), nullable=False),
    Column("dispatch_id", String(36), nullable=False),
    Column("dedupe_key", String(160), nullable=False, unique=True),
    Column("event_time", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("outcome", Text, nullable=False, default=""),
)
Index("ix_notice_dispatch", notices.c.dispatch_id)

counters = Table(
    "counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
