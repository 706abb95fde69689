"""several gateway instances as one deployment: the live instances and the carrier pace they share

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from logistics.storage.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("demand", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "carrier_pace",
        sa.Column("carrier", sa.String(32), primary_key=True),
        sa.Column("rate_per_s", sa.Float(), nullable=True),
        sa.Column("cut_at", UTCDateTime(), nullable=True),
        sa.Column("resume_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_job_locked_by", "jobs", ["locked_by"])


def downgrade() -> None:
    op.drop_index("ix_job_locked_by", table_name="jobs")
    op.drop_table("carrier_pace")
    op.drop_table("instances")
