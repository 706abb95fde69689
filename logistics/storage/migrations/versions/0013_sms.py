"""pickup slips (取件通知单): a dispatch's pickup code to be printed on paper when no SMS gateway is
configured or the SMS was refused; the slip's state, never the code (its hash stays in pickup_codes)

Revision ID: 0013
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from logistics.storage.tables import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pickup_slips",
        sa.Column("dispatch_id", sa.String(36), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("printed_at", UTCDateTime(), nullable=True),
        sa.Column("printed_by", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("pickup_slips")
