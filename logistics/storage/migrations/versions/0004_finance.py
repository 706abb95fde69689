"""finance: reconciliation runs and closed months

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from logistics.storage.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("tariff_sha256", sa.String(64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("period", "sha256", "tariff_sha256", name="uq_reconciliation_input"),
    )
    op.create_index("ix_reconciliation_period", "reconciliation_runs", ["period", "created_at"])
    op.create_table(
        "finance_periods",
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("finance_periods")
    op.drop_table("reconciliation_runs")
