"""Tracking on disk: carrier scans, poll state, notices and counters, the citizen's read."""

from __future__ import annotations

from .citizen import SqlCitizenLookup, SqlCitizenReads
from .notices import SqlNotices
from .poll_state import SqlPollStates
from .scans import SqlScans


class SqlTrackingRecords(SqlScans, SqlPollStates, SqlNotices, SqlCitizenReads):
    """`ports.repositories.tracking.TrackingRecords` on a unit of work's connection."""


__all__ = ["SqlCitizenLookup", "SqlTrackingRecords"]
