"""What every fake repository shares: the unit of work it belongs to, and its checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .scope import HallTables
from .store import Tables

if TYPE_CHECKING:
    from .unit_of_work import FakeUnitOfWork


class FakeRepository:
    def __init__(self, uow: FakeUnitOfWork):
        self._uow = uow

    @property
    def _read(self) -> Tables:
        """The tables, for a read: only inside the unit of work (SQL has no connection outside it); a
        scoped unit of work sees only its hall's rows (tests/fakes/scope.py)."""
        self._uow.check_open()
        return self._scoped(self._uow.store.tables)

    @property
    def _write(self) -> Tables:
        """The tables, for a write: only in a unit of work that may write."""
        self._uow.check_open()
        if self._uow.read_only:
            raise RuntimeError("a read-only unit of work was asked to write")
        return self._scoped(self._uow.store.tables)

    def _scoped(self, tables: Tables) -> Tables:
        hall = self._uow.hall
        return tables if hall is None else HallTables(tables, hall)  # type: ignore[return-value]


class NotFaked:
    """A repository no use-case test needs yet: every call says so."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, method: str):
        raise NotImplementedError(
            f"the fake unit of work has no {self._name} repository yet ({self._name}.{method}); "
            "write one in tests/fakes and add it to the contract tests"
        )
