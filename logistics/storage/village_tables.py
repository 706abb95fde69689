"""Village proxy points (migration 0012): each hall's registry of points, and the clerks' access links
(only a digest of each link's secret is stored). On the shared metadata."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text

from .tables import Serial, UTCDateTime, metadata

village_points = Table(
    "village_points",
    metadata,
    Column("hall", String(32), primary_key=True),
    Column("code", String(64), primary_key=True),  # unique per hall
    Column("name", Text, nullable=False),
    Column("town", Text, nullable=False),
    Column("address", JSON, nullable=False),  # province, city, county, town, detail, postcode
    Column("clerk_name", Text, nullable=False),
    Column("clerk_phone", String(24), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

village_point_access = Table(
    "village_point_access",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the link's secret
    Column("hall", String(32), nullable=False),
    Column("point_code", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("revoked_by", String(64), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("failures", Integer, nullable=False),  # wrong pickup codes in the current window
    Column("failed_since", UTCDateTime(), nullable=True),
)
Index("ix_village_access_point", village_point_access.c.hall, village_point_access.c.point_code)
