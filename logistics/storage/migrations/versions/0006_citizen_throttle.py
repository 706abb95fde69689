"""citizen lookup failures per address, waybill and case number, shared by every instance

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from logistics.storage.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "citizen_failures",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", UTCDateTime(), nullable=False),
        sa.Column("window_ends_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_citizen_failures_end", "citizen_failures", ["window_ends_at"])


def downgrade() -> None:
    op.drop_index("ix_citizen_failures_end", table_name="citizen_failures")
    op.drop_table("citizen_failures")
