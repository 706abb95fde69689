"""The schema, in SQLAlchemy Core. Alembic migrations (storage/migrations) create it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no time zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
Serial = BigInteger().with_variant(Integer(), "sqlite")

dispatches = Table(
    "dispatches",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("case_no", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("response", JSON, nullable=False),
    Column("status", String(24), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("delivery_method", String(16), nullable=False),
    Column("department_code", String(64), nullable=False),
    Column("phone_last4", String(4), nullable=False),
    Column("recipient_key", String(32), nullable=True),  # dispatch_codec.recipient_key (migration 0010)
    Column("order_no", String(40), nullable=False),
    Column("waybill_no", String(32), nullable=True),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("hall", String(32), nullable=False, server_default="default"),  # halls.code (migration 0008)
    # a case may have one inbound collection and one outbound delivery (migration 0014)
    UniqueConstraint("client_id", "case_no", "direction", name="uq_dispatch_client_case_direction"),
    UniqueConstraint("waybill_no", name="uq_dispatch_waybill"),
    UniqueConstraint("order_no", name="uq_dispatch_order"),
)
Index("ix_dispatch_status", dispatches.c.status, dispatches.c.updated_at)
Index("ix_dispatch_case", dispatches.c.case_no)
Index("ix_dispatch_hall_status", dispatches.c.hall, dispatches.c.status, dispatches.c.updated_at)
Index("ix_dispatch_hall_created", dispatches.c.hall, dispatches.c.created_at)
# migration 0010
Index("ix_dispatch_hall_updated", dispatches.c.hall, dispatches.c.updated_at)
Index("ix_dispatch_hall_recipient", dispatches.c.hall, dispatches.c.recipient_key)

dispatch_events = Table(
    "dispatch_events",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("dispatch_id", String(36), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("cause", Text, nullable=False),
    Column("from_status", String(24), nullable=True),
    Column("to_status", String(24), nullable=True),
    Column("detail", JSON, nullable=False),
)
Index("ix_event_dispatch", dispatch_events.c.dispatch_id, dispatch_events.c.id)
Index("ix_event_to_status_at", dispatch_events.c.to_status, dispatch_events.c.at)  # statistics (0011)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("hall", String(32), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("case_no", String(64), nullable=False),
    Column("stage", String(24), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("matter_name", Text, nullable=False),  # the case's first event's, carried on
    Column("applicant_phone", String(32), nullable=False),  # as a dispatch's recipient phone
    Column("phone_last4", String(4), nullable=False),  # the citizen's lookup key, as on dispatches
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint("client_id", "case_no", "stage", "at", name="uq_case_event"),
)
"""办件进度: the approval system's stages of a case, before and beside its dispatches (migration 0014)."""
Index("ix_case_event_case", case_events.c.case_no, case_events.c.phone_last4)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("dedupe_key", String(120), nullable=True),
    Column("state", String(12), nullable=False),  # pending, running, done, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("run_after", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("locked_by", String(64), nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("dedupe_key", name="uq_job_dedupe"),
)
Index("ix_job_claim", jobs.c.state, jobs.c.run_after)
Index("ix_job_locked_by", jobs.c.locked_by)

users = Table(
    "users",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("hall", String(32), nullable=True),  # NULL: every hall (an admin's province view)
)

halls = Table(
    "halls",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", Text, nullable=False),
    Column("origin", JSON, nullable=False),  # as CERTPOST_ORIGIN; the default hall's is {} (the setting's)
    Column("created_at", UTCDateTime(), nullable=False),
)

hall_tariffs = Table(
    "hall_tariffs",
    metadata,
    Column("hall", String(32), primary_key=True),
    Column("from_period", String(7), primary_key=True),  # YYYY-MM: the first month it applies to
    Column("toml", Text, nullable=False),  # the tariff file as given (itself versioned inside)
    Column("sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("until", UTCDateTime(), nullable=False),
)

instances = Table(
    "instances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
    Column("demand", Integer, nullable=False, default=0),  # carrier calls waiting for their turn
)
"""The running gateway instances (jobs/instances.py): each heartbeats; a stale one is dead."""

carrier_pace = Table(
    "carrier_pace",
    metadata,
    Column("carrier", String(32), primary_key=True),
    Column("rate_per_s", Float, nullable=True),  # learned from 429s, the whole deployment's; None: unpaced
    Column("cut_at", UTCDateTime(), nullable=True),
    Column("resume_at", UTCDateTime(), nullable=True),  # the carrier's last Retry-After, for every instance
    Column("updated_at", UTCDateTime(), nullable=False),
)

waybill_pool = Table(
    "waybill_pool",
    metadata,
    Column("waybill_no", String(32), primary_key=True),
    Column("state", String(12), nullable=False),  # free, assigned
    Column("dispatch_id", String(36), nullable=True, unique=True),
    Column("allocated_at", UTCDateTime(), nullable=False),
    Column("assigned_at", UTCDateTime(), nullable=True),
)
Index("ix_pool_state", waybill_pool.c.state)
