"""The fake unit of work's own rules, and every fake repository offers each method of its protocol with
the protocol's parameters (what they do is held to the SQL repositories' behaviour by
tests/integration/contract)."""

import inspect
import typing

import pytest

from logistics.ports import UnitOfWork
from logistics.ports.repositories.tracking import CitizenLookup
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.fakes.tracking import FakeCitizenLookup

NOT_FAKED = {"finance", "pull", "throttle"}
REPOSITORIES = {name: protocol for name, protocol in typing.get_type_hints(UnitOfWork).items()}


def _methods(cls) -> dict:
    return {name: member for name, member in inspect.getmembers(cls) if not name.startswith("_")}


def _same_methods(protocol, implementation) -> None:
    ours = _methods(implementation)
    for name, method in _methods(protocol).items():
        assert name in ours, f"{implementation.__name__} lacks {name}"
        parameters = inspect.signature(ours[name]).parameters
        assert list(parameters) == list(inspect.signature(method).parameters), (
            f"{implementation.__name__}.{name}"
        )


@pytest.mark.parametrize("name", sorted(set(REPOSITORIES) - NOT_FAKED))
def test_the_fake_repository_has_every_method_of_its_protocol(name):
    _same_methods(REPOSITORIES[name], type(getattr(FakeUnitOfWork(FakeStore()), name)))


def test_the_fake_citizen_lookup_is_the_protocol():
    _same_methods(CitizenLookup, FakeCitizenLookup)


@pytest.mark.parametrize("name", sorted(NOT_FAKED))
def test_a_repository_not_faked_says_so(name):
    with pytest.raises(NotImplementedError, match=name):
        getattr(FakeUnitOfWork(FakeStore()), name).anything  # noqa: B018


async def test_a_writing_unit_inside_another_of_the_same_task_fails_instead_of_waiting_forever():
    store = FakeStore()
    async with FakeUnitOfWork(store):
        with pytest.raises(RuntimeError):
            async with FakeUnitOfWork(store):
                pass
        async with FakeUnitOfWork(store, read_only=True) as reader:  # a read takes no lock
            assert await reader.jobs.counts() == {}
    assert (store.commits, store.rollbacks) == (1, 0)


async def test_a_read_only_unit_refuses_writes_and_units_are_used_only_inside_their_block():
    store = FakeStore()
    uow = FakeUnitOfWork(store, read_only=True)
    with pytest.raises(RuntimeError):
        await uow.jobs.counts()  # not entered
    async with uow:
        with pytest.raises(RuntimeError):
            await uow.tracking.count({"a": 1})
    with pytest.raises(RuntimeError):
        await uow.jobs.counts()  # left
