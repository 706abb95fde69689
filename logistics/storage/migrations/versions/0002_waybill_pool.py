"""waybill number pool

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import logistics.storage.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waybill_pool",
        sa.Column("waybill_no", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("dispatch_id", sa.String(length=36), nullable=True),
        sa.Column("allocated_at", logistics.storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", logistics.storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("waybill_no"),
        sa.UniqueConstraint("dispatch_id"),
    )
    with op.batch_alter_table("waybill_pool") as batch_op:
        batch_op.create_index("ix_pool_state", ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("waybill_pool")
