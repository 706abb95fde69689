"""In-memory fakes of the ports, for use-case tests that run in milliseconds.

The fake unit of work is kept honest by the contract tests in tests/integration/contract, which run
the same tests against it and against the SQL one."""

from .deps import FakeWorld, fake_world
from .outside import FakeApprovalSystem, FakeCarrier, FakeClock
from .store import FakeStore
from .unit_of_work import FakeUnitOfWork, FakeUnitOfWorkFactory

__all__ = [
    "FakeApprovalSystem", "FakeCarrier", "FakeClock", "FakeStore", "FakeUnitOfWork",
    "FakeUnitOfWorkFactory", "FakeWorld", "fake_world",
]  # fmt: skip
