"""cases: a case's two directions (an inbound collection and an outbound delivery share its case_no) and
its progress (办件进度) as the approval system posts it

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from logistics.storage.tables import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_KEY, NEW_KEY = "uq_dispatch_client_case", "uq_dispatch_client_case_direction"


def upgrade() -> None:
    # Every existing row keeps its place: (client, case_no) was unique, so (client, case_no, direction) is.
    with op.batch_alter_table("dispatches", recreate="auto") as batch:  # SQLite: the table is copied
        batch.drop_constraint(OLD_KEY, type_="unique")
        batch.create_unique_constraint(NEW_KEY, ["client_id", "case_no", "direction"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("hall", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("case_no", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(24), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("matter_name", sa.Text(), nullable=False),
        sa.Column("applicant_phone", sa.String(32), nullable=False),
        sa.Column("phone_last4", sa.String(4), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("client_id", "case_no", "stage", "at", name="uq_case_event"),
    )
    op.create_index("ix_case_event_case", "case_events", ["case_no", "phone_last4"])


def downgrade() -> None:
    """Fails while a case has both directions (the old key cannot hold them): cancel one first."""
    op.drop_index("ix_case_event_case", table_name="case_events")
    op.drop_table("case_events")
    with op.batch_alter_table("dispatches", recreate="auto") as batch:
        batch.drop_constraint(NEW_KEY, type_="unique")
        batch.create_unique_constraint(OLD_KEY, ["client_id", "case_no"])
