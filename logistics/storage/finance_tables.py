"""Tables for reconciliation runs and closed months (migration 0004), on the shared metadata."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, String, Table, Text, UniqueConstraint

from .tables import UTCDateTime, metadata

reconciliation_runs = Table(
    "reconciliation_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("hall", String(32), nullable=False, server_default="default"),
    Column("period", String(7), nullable=False),
    Column("filename", Text, nullable=False),
    Column("sha256", String(64), nullable=False),  # of the statement file
    Column("tariff_sha256", String(64), nullable=False),  # of the tariff text, or "default"
    Column("summary", JSON, nullable=False),  # the result without its findings, for lists
    Column("result", Text, nullable=False),  # the contract JSON report, as served
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # The same file with the same tariff for the same month is one run, however often it is uploaded.
    UniqueConstraint("hall", "period", "sha256", "tariff_sha256", name="uq_reconciliation_input"),
)
Index(
    "ix_reconciliation_period",
    reconciliation_runs.c.hall,
    reconciliation_runs.c.period,
    reconciliation_runs.c.created_at,
)

finance_periods = Table(
    "finance_periods",
    metadata,
    Column("hall", String(32), primary_key=True, server_default="default"),  # a month closes per hall
    Column("period", String(7), primary_key=True),
    Column("status", String(8), nullable=False),  # open, closed
    Column("run_id", String(36), nullable=True),  # the frozen run once closed
    Column("closed_by", String(64), nullable=True),
    Column("closed_at", UTCDateTime(), nullable=True),
)
