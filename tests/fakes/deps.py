"""A `Deps` for use-case tests: the fake unit of work, a fake clock, a fake carrier and a recording
notifier, all reachable from the returned `FakeWorld`."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.sms.recorder import RecordingNotifier
from logistics.config import Settings
from logistics.service.deps import Deps

from .outside import FakeApprovalSystem, FakeCarrier, FakeClock
from .store import FakeStore
from .unit_of_work import FakeUnitOfWorkFactory

CLIENT_SECRET = "fake-secret-0123456789"
TEST_SETTINGS = dict(
    database_url="sqlite://", clients={"approval": CLIENT_SECRET}, pool_offline=False,
    callback_url="https://approval.example/callbacks",
)  # fmt: skip


@dataclass
class FakeWorld:
    deps: Deps
    store: FakeStore
    clock: FakeClock
    carrier: FakeCarrier
    notifier: RecordingNotifier
    approval: FakeApprovalSystem

    @property
    def uow(self) -> FakeUnitOfWorkFactory:
        return self.deps.uow


def fake_world(**settings) -> FakeWorld:
    """Everything a use case can be given, faked; `settings` override TEST_SETTINGS."""
    store, clock, carrier = FakeStore(), FakeClock(), FakeCarrier()
    notifier, approval = RecordingNotifier(), FakeApprovalSystem()
    given = dict(
        clock=clock, settings=Settings(**{**TEST_SETTINGS, **settings}), carrier=carrier, notifier=notifier,
        callback_sender=approval, uow=FakeUnitOfWorkFactory(store),
    )  # fmt: skip
    return FakeWorld(Deps(**given), store, clock, carrier, notifier, approval)
