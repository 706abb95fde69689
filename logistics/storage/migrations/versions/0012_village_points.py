"""village points: each hall's registry of village proxy points (乡村代办点) and the clerks' access links;
every point code already used by a dispatch gets a registry row (inactive, no address yet) so staff can
complete it, and those dispatches keep working

Revision ID: 0012
Revises: 0011
"""

import json

import sqlalchemy as sa
from alembic import op

from logistics.storage.tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_NO_ADDRESS = {"province": "", "city": "", "county": "", "town": "", "detail": "", "postcode": ""}


def upgrade() -> None:
    points = op.create_table(
        "village_points",
        sa.Column("hall", sa.String(32), primary_key=True),
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("town", sa.Text(), nullable=False),
        sa.Column("address", sa.JSON(), nullable=False),
        sa.Column("clerk_name", sa.Text(), nullable=False),
        sa.Column("clerk_phone", sa.String(24), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "village_point_access",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hall", sa.String(32), nullable=False),
        sa.Column("point_code", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("failed_since", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_village_access_point", "village_point_access", ["hall", "point_code"])
    _register_codes_in_use(points)


def _register_codes_in_use(points: sa.Table) -> None:
    """A row per (hall, code) that dispatches already carry: named by its code, inactive until staff give
    it an address (new intake to it is refused until then; its dispatches are booked as they were)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT hall, payload FROM dispatches WHERE delivery_method = 'village_point'")
    )
    found: dict[tuple[str, str], str] = {}
    for hall, payload in rows:
        data = payload if isinstance(payload, dict) else json.loads(payload or "{}")
        code = str(data.get("village_point_code") or "").strip()[:64]
        if code:
            town = str((data.get("address") or {}).get("town") or "")
            found.setdefault((hall, code), town)
    if found:
        now = sa.func.current_timestamp()
        for (hall, code), town in sorted(found.items()):
            op.execute(
                points.insert().values(
                    hall=hall, code=code, name=code, town=town, address=_NO_ADDRESS, clerk_name="",
                    clerk_phone="", active=False, created_at=now, updated_at=now,
                )
            )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_village_access_point", table_name="village_point_access")
    op.drop_table("village_point_access")
    op.drop_table("village_points")
