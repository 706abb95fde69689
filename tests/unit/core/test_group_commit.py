"""The group committer: what arrives during a commit goes together in the next; a failed group is
written again item by item, so only the item at fault fails."""

import asyncio

import pytest

from logistics.storage.group_commit import GroupCommitter, write_grouped
from logistics.storage.unit_of_work import SqlWrites


class Transactions:
    """A unit-of-work factory that only counts its transactions."""

    def __init__(self):
        self.opened = 0

    def __call__(self, *, read_only=False):
        return self

    async def __aenter__(self):
        self.opened += 1
        return self

    async def __aexit__(self, *exc_info):
        return None


class Store:
    def __init__(self, bad=()):
        self.calls: list[list[str]] = []
        self.bad = set(bad)
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, uow, items: list[str]) -> list[str]:
        self.calls.append(list(items))
        await self.gate.wait()
        if self.bad & set(items):
            raise ValueError(f"bad item in {items}")
        return [f"{item}!" for item in items]


async def _a_then_bcd_during_its_write(writes: SqlWrites, store: Store) -> list[asyncio.Future]:
    store.gate.clear()
    submitted = [asyncio.ensure_future(writes.together(store.write, "a"))]
    await asyncio.sleep(0.01)
    submitted += [asyncio.ensure_future(writes.together(store.write, x)) for x in "bcd"]
    await asyncio.sleep(0.01)
    store.gate.set()
    return submitted


@pytest.fixture
async def committer():
    committer = GroupCommitter(Transactions(), write_grouped)
    await committer.start()
    yield committer
    await committer.stop()


async def test_what_arrives_during_a_write_goes_together_in_the_next(committer):
    store = Store()
    results = await asyncio.gather(*await _a_then_bcd_during_its_write(SqlWrites(committer), store))
    assert store.calls == [["a"], ["b", "c", "d"]]
    assert results == ["a!", "b!", "c!", "d!"]
    assert committer.uow.opened == 2


async def test_a_failed_group_fails_only_the_item_at_fault(committer):
    store = Store(bad={"c"})
    writes = SqlWrites(committer)
    outcomes = await asyncio.gather(
        *await _a_then_bcd_during_its_write(writes, store), return_exceptions=True
    )
    assert outcomes[:2] == ["a!", "b!"] and outcomes[3] == "d!"
    assert isinstance(outcomes[2], ValueError)
    assert store.calls == [["a"], ["b", "c", "d"], ["b"], ["c"], ["d"]]


async def test_a_lone_failed_item_gets_its_error_without_a_second_try(committer):
    store = Store(bad={"x"})
    writes = SqlWrites(committer)
    with pytest.raises(ValueError):
        await writes.together(store.write, "x")
    assert store.calls == [["x"]]
    assert await writes.together(store.write, "y") == "y!"  # the committer goes on
    assert store.calls == [["x"], ["y"]]


async def test_units_and_grouped_items_queued_together_share_one_transaction(committer):
    store, ran = Store(), []
    writes = SqlWrites(committer)

    async def unit(uow):
        ran.append(uow)
        return "unit"

    store.gate.clear()
    first = asyncio.ensure_future(writes.run(unit))
    await asyncio.sleep(0.01)
    later = [writes.together(store.write, "p"), writes.run(unit), writes.together(store.write, "q")]
    waiting = asyncio.gather(*later)
    await asyncio.sleep(0.01)
    store.gate.set()
    assert await first == "unit" and await waiting == ["p!", "unit", "q!"]
    assert store.calls == [["p", "q"]]  # one call for the items of one write function
    assert committer.uow.opened == 2 and len(ran) == 2


async def test_not_started_each_item_has_a_transaction_of_its_own():
    transactions, store = Transactions(), Store()
    writes = SqlWrites(GroupCommitter(transactions, write_grouped))
    assert await asyncio.gather(writes.together(store.write, "a"), writes.together(store.write, "b")) == [
        "a!",
        "b!",
    ]
    assert store.calls == [["a"], ["b"]] and transactions.opened == 2
