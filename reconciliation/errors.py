"""Errors of the reconciliation engine: bad input a person can fix, never a traceback."""

from __future__ import annotations

from logistics.domain.errors import InvalidInput


class TariffError(InvalidInput):
    """The tariff file is wrong; every error names its key, e.g. `versions[1].zones[0].first_fen`."""


class StatementError(InvalidInput):
    """The statement cannot be read; the message names the row (as Excel numbers it) and the column."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        where = " ".join(p for p in (f"第 {row} 行" if row else "", column or "") if p)
        super().__init__([(where, message)] if where else [("statement", message)])
        self.row, self.column = row, column
        if not where:
            self.args = (message,)
