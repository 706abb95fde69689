"""Grouped writes: what arrives during a write goes in the next group; a failed group is retried item
by item, so only the item at fault fails."""

import asyncio

import pytest

from logistics.service.grouped import GroupedWrites


class Store:
    def __init__(self, bad=()):
        self.calls: list[list[str]] = []
        self.bad = set(bad)
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: list[str]) -> None:
        self.calls.append(list(items))
        await self.gate.wait()
        if self.bad & set(items):
            raise ValueError(f"bad item in {items}")


async def _a_then_bcd_during_its_write(store: Store) -> list[asyncio.Future]:
    writes = GroupedWrites(store.write, "test")
    store.gate.clear()
    submitted = [asyncio.ensure_future(writes.submit("a"))]
    await asyncio.sleep(0.01)
    submitted += [asyncio.ensure_future(writes.submit(x)) for x in "bcd"]
    await asyncio.sleep(0.01)
    store.gate.set()
    return submitted


async def test_what_arrives_during_a_write_goes_together_in_the_next():
    store = Store()
    await asyncio.gather(*await _a_then_bcd_during_its_write(store))
    assert store.calls == [["a"], ["b", "c", "d"]]


async def test_a_failed_group_fails_only_the_item_at_fault():
    store = Store(bad={"c"})
    outcomes = await asyncio.gather(*await _a_then_bcd_during_its_write(store), return_exceptions=True)
    assert outcomes[:2] == [None, None] and outcomes[3] is None
    assert isinstance(outcomes[2], ValueError)
    assert store.calls == [["a"], ["b", "c", "d"], ["b"], ["c"], ["d"]]


async def test_a_lone_failed_item_gets_its_error_without_a_second_try():
    store = Store(bad={"x"})
    writes = GroupedWrites(store.write, "test")
    with pytest.raises(ValueError):
        await writes.submit("x")
    assert store.calls == [["x"]]
    await writes.submit("y")  # the writer goes on
    assert store.calls == [["x"], ["y"]]
