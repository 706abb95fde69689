"""pull intake: the durable cursor per pull client and the items reported and skipped

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from logistics.storage.tables import Serial, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pull_cursor",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_ok_at", UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("pulled", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rejected", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "pull_rejects",
        sa.Column("id", Serial, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_pull_rejects_at", "pull_rejects", ["at"])


def downgrade() -> None:
    op.drop_index("ix_pull_rejects_at", table_name="pull_rejects")
    op.drop_table("pull_rejects")
    op.drop_table("pull_cursor")
