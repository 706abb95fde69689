"""scale: the recipient's name digest for the console's search, and the indexes (and the one
statistic) the console's list, search and dashboard need at a million dispatches

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from logistics.storage.dispatch_codec import recipient_key

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BATCH = 5000
_dispatches = sa.table(
    "dispatches", sa.column("id", sa.String), sa.column("payload", sa.JSON), sa.column("recipient_key")
)


def upgrade() -> None:
    op.add_column("dispatches", sa.Column("recipient_key", sa.String(32), nullable=True))
    _fill_recipient_keys()
    op.create_index("ix_dispatch_hall_updated", "dispatches", ["hall", "updated_at"])
    op.create_index("ix_dispatch_hall_recipient", "dispatches", ["hall", "recipient_key"])
    if op.get_bind().dialect.name == "postgresql":
        # About eight audit events a dispatch. ANALYZE's sample guesses a few times fewer distinct ids
        # at a million dispatches, so the planner thinks each lookup by dispatch costly and reads a hall's
        # whole index instead of its recently changed dispatches (the dashboard, 6x slower). Used from
        # the next ANALYZE (autovacuum's) on.
        op.execute("ALTER TABLE dispatch_events ALTER COLUMN dispatch_id SET (n_distinct = -0.12)")


def _fill_recipient_keys() -> None:
    """The digest of each stored dispatch's recipient name, in batches (keyset on the id)."""
    bind, d, after = op.get_bind(), _dispatches.c, ""
    while True:
        rows = bind.execute(sa.select(d.id, d.payload).where(d.id > after).order_by(d.id).limit(_BATCH)).all()
        if not rows:
            return
        bind.execute(
            sa.update(_dispatches)
            .where(d.id == sa.bindparam("row_id"))
            .values(recipient_key=sa.bindparam("key")),
            [{"row_id": r.id, "key": recipient_key(r.payload["recipient"]["name"])} for r in rows],
        )
        after = rows[-1].id


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE dispatch_events ALTER COLUMN dispatch_id RESET (n_distinct)")
    op.drop_index("ix_dispatch_hall_recipient", table_name="dispatches")
    op.drop_index("ix_dispatch_hall_updated", table_name="dispatches")
    with op.batch_alter_table("dispatches") as batch:  # SQLite rebuilds the table
        batch.drop_column("recipient_key")
