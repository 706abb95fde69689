"""statistics and supervision: audit events by the status they moved to and when, so a month's first
handovers and deliveries are an index range, not a scan of every event ever recorded

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_event_to_status_at", "dispatch_events", ["to_status", "at"])


def downgrade() -> None:
    op.drop_index("ix_event_to_status_at", table_name="dispatch_events")
