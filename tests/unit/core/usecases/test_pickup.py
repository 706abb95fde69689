"""Self-pickup at the counter (`service.pickup`), on the fake unit of work: a code by SMS, wrong codes
counted until the code dies, the right one releases the dispatch once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from logistics.domain.errors import Conflict, InvalidInput
from logistics.service import pickup
from logistics.service.job_contract import CALLBACK
from tests.fakes import fake_world
from tests.fixtures.dispatches import NOW

from .kit import S, given, notices, stored, trail

CODE, CLERK, TRIES = "483920", "staff:li", 3


async def issued(world):
    d = await given(world, S.AWAITING_PICKUP)
    await pickup.issue(world.deps, d.id, actor=CLERK, code=CODE)
    return d


async def release(world, d, code):
    return await pickup.release(world.uow, d.id, code, actor=CLERK, now=NOW, max_attempts=TRIES)


async def code_row(world, d):
    async with world.uow(read_only=True) as uow:
        return await uow.console.pickup_code(d.id)


async def test_the_code_goes_to_the_applicant_and_only_its_hash_is_kept():
    world = fake_world(pickup_code_hours=2)
    d = await issued(world)
    [message] = world.notifier.messages
    assert (message["template"], message["params"]["code"], message["phone_last4"]) == (
        "pickup_code",
        CODE,
        "1234",
    )
    row = await code_row(world, d)
    assert CODE not in row.code_hash and (row.attempts, row.used_at) == (0, None)
    assert row.expires_at == NOW + timedelta(hours=2)
    assert await trail(world, d.id) == [(S.AWAITING_PICKUP, S.AWAITING_PICKUP, "pickup code sent")]


async def test_a_wrong_code_is_counted_and_refused():
    world = fake_world()
    d = await issued(world)
    with pytest.raises(InvalidInput):
        await release(world, d, "000000")
    assert (await code_row(world, d)).attempts == 1
    assert (await stored(world, d.id)).status is S.AWAITING_PICKUP
    assert (await trail(world, d.id))[-1][2] == "pickup code rejected"


async def test_the_right_code_releases_the_dispatch_once_and_tells_the_approval_system():
    world = fake_world()
    d = await issued(world)
    released = await release(world, d, CODE)
    assert released.status is S.PICKED_UP and (await stored(world, d.id)).status is S.PICKED_UP
    assert (await code_row(world, d)).used_at == NOW
    assert [n.kind for n in await notices(world, CALLBACK)] == ["picked_up"]
    with pytest.raises(Conflict):
        await release(world, d, CODE)


async def test_after_too_many_wrong_codes_even_the_right_one_is_refused():
    world = fake_world()
    d = await issued(world)
    for _ in range(TRIES):
        with pytest.raises(InvalidInput):
            await release(world, d, "111111")
    with pytest.raises(InvalidInput) as refused:
        await release(world, d, CODE)
    assert "次数过多" in str(refused.value.errors)
    assert (await stored(world, d.id)).status is S.AWAITING_PICKUP
    await pickup.issue(world.deps, d.id, actor=CLERK, code="222333")  # a new code starts afresh
    assert (await release(world, d, "222333")).status is S.PICKED_UP


async def test_no_code_for_a_dispatch_not_waiting_at_the_counter():
    world = fake_world()
    d = await given(world, S.BOOKED)
    with pytest.raises(Conflict):
        await pickup.issue(world.deps, d.id, actor=CLERK, code=CODE)
    assert world.notifier.messages == [] and await code_row(world, d) is None
