"""halls: many county halls in one deployment; every existing row goes to the `default` hall

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from logistics.storage.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

DEFAULT = "default"


def _hall_column(**kw) -> sa.Column:
    return sa.Column("hall", sa.String(32), nullable=False, server_default=DEFAULT, **kw)


def upgrade() -> None:
    halls = op.create_table(
        "halls",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("origin", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    # The default hall's origin is CERTPOST_ORIGIN, read from the settings (an empty object here).
    op.execute(
        halls.insert().values(code=DEFAULT, name=DEFAULT, origin={}, created_at=sa.func.current_timestamp())
    )
    op.add_column("dispatches", _hall_column())
    op.create_index("ix_dispatch_hall_status", "dispatches", ["hall", "status", "updated_at"])
    op.create_index("ix_dispatch_hall_created", "dispatches", ["hall", "created_at"])
    op.add_column("users", sa.Column("hall", sa.String(32), nullable=True))  # NULL: every hall
    if op.get_bind().dialect.name == "postgresql":
        _finance_postgresql()
    else:
        _finance_rebuilt()


def _finance_postgresql() -> None:
    op.add_column("reconciliation_runs", _hall_column())
    op.drop_constraint("uq_reconciliation_input", "reconciliation_runs", type_="unique")
    op.create_unique_constraint(
        "uq_reconciliation_input", "reconciliation_runs", ["hall", "period", "sha256", "tariff_sha256"]
    )
    op.drop_index("ix_reconciliation_period", table_name="reconciliation_runs")
    op.create_index("ix_reconciliation_period", "reconciliation_runs", ["hall", "period", "created_at"])
    op.add_column("finance_periods", _hall_column())
    op.drop_constraint("finance_periods_pkey", "finance_periods", type_="primary")
    op.create_primary_key("finance_periods_pkey", "finance_periods", ["hall", "period"])


def _finance_rebuilt() -> None:
    """SQLite changes no key in place: each table is copied into its new shape."""
    op.drop_index("ix_reconciliation_period", table_name="reconciliation_runs")
    op.create_table(
        "_new_reconciliation_runs",
        sa.Column("id", sa.String(36), primary_key=True),
        _hall_column(),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("tariff_sha256", sa.String(64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("hall", "period", "sha256", "tariff_sha256", name="uq_reconciliation_input"),
    )
    columns = "id, period, filename, sha256, tariff_sha256, summary, result, created_by, created_at"
    op.execute(
        f"INSERT INTO _new_reconciliation_runs (hall, {columns}) "
        f"SELECT '{DEFAULT}', {columns} FROM reconciliation_runs"
    )
    op.drop_table("reconciliation_runs")
    op.rename_table("_new_reconciliation_runs", "reconciliation_runs")
    op.create_index("ix_reconciliation_period", "reconciliation_runs", ["hall", "period", "created_at"])
    op.create_table(
        "_new_finance_periods",
        _hall_column(primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
    )
    columns = "period, status, run_id, closed_by, closed_at"
    op.execute(
        f"INSERT INTO _new_finance_periods (hall, {columns}) "
        f"SELECT '{DEFAULT}', {columns} FROM finance_periods"
    )
    op.drop_table("finance_periods")
    op.rename_table("_new_finance_periods", "finance_periods")


def downgrade() -> None:
    """Back to one hall: only the default hall's finance rows and users keep their meaning."""
    op.drop_index("ix_dispatch_hall_created", table_name="dispatches")
    op.drop_index("ix_dispatch_hall_status", table_name="dispatches")
    with op.batch_alter_table("dispatches") as batch:
        batch.drop_column("hall")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("hall")
    op.execute(f"DELETE FROM finance_periods WHERE hall <> '{DEFAULT}'")
    op.execute(f"DELETE FROM reconciliation_runs WHERE hall <> '{DEFAULT}'")
    op.drop_index("ix_reconciliation_period", table_name="reconciliation_runs")
    with op.batch_alter_table("reconciliation_runs", recreate="always") as batch:
        batch.drop_constraint("uq_reconciliation_input", type_="unique")
        batch.drop_column("hall")
        batch.create_unique_constraint("uq_reconciliation_input", ["period", "sha256", "tariff_sha256"])
    op.create_index("ix_reconciliation_period", "reconciliation_runs", ["period", "created_at"])
    with op.batch_alter_table("finance_periods", recreate="always") as batch:
        batch.drop_column("hall")
        batch.create_primary_key("finance_periods_pkey", ["period"])
    op.drop_table("halls")
