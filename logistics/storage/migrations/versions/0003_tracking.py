"""tracking: carrier events, per-parcel poll state, outbound notices, counters

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from logistics.storage.tables import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "carrier_events",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("waybill_no", sa.String(32), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("raw_code", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("waybill_no", "raw_code", "time", name="uq_carrier_event"),
    )
    op.create_index("ix_carrier_event_waybill", "carrier_events", ["waybill_no", "time"])
    op.create_table(
        "tracking",
        sa.Column("dispatch_id", sa.String(36), primary_key=True),
        sa.Column("waybill_no", sa.String(32), nullable=False, unique=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_event_at", UTCDateTime(), nullable=True),
        sa.Column("applied_at", UTCDateTime(), nullable=True),
        sa.Column("next_poll_at", UTCDateTime(), nullable=True),
        sa.Column("last_polled_at", UTCDateTime(), nullable=True),
        sa.Column("polls", sa.Integer(), nullable=False),
    )
    op.create_index("ix_tracking_due", "tracking", ["active", "next_poll_at"])
    op.create_table(
        "notices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("channel", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("dispatch_id", sa.String(36), nullable=False),
        sa.Column("dedupe_key", sa.String(160), nullable=False, unique=True),
        sa.Column("event_time", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
    )
    op.create_index("ix_notice_dispatch", "notices", ["dispatch_id"])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("counters")
    op.drop_table("notices")
    op.drop_table("tracking")
    op.drop_table("carrier_events")
