"""`uow.jobs` (enqueue with dedupe keys), `uow.pool` (pre-allocated waybill numbers) and `uow.users`."""

from __future__ import annotations

from datetime import timedelta

from logistics.ports.repositories.jobs import Job
from tests.fixtures.dispatches import NOW


async def test_an_unfinished_job_keeps_its_dedupe_key(new_uow):
    async with new_uow() as uow:
        await uow.jobs.enqueue("book", {"dispatch_id": "a"}, now=NOW, dedupe_key="book:a")
        await uow.jobs.enqueue("book", {"dispatch_id": "a", "second": True}, now=NOW, dedupe_key="book:a")
        await uow.jobs.enqueue("book", {"dispatch_id": "b"}, now=NOW, dedupe_key="book:b")
        await uow.jobs.enqueue("sms", {"n": 1}, now=NOW)
        await uow.jobs.enqueue("sms", {"n": 2}, now=NOW)  # no key: never deduplicated
    async with new_uow() as uow:
        await uow.jobs.enqueue("book", {"dispatch_id": "a", "third": True}, now=NOW, dedupe_key="book:a")
        jobs = await uow.jobs.list_jobs("pending")
    assert sorted((j["kind"], j["dedupe_key"]) for j in jobs) == [
        ("book", "book:a"), ("book", "book:b"), ("sms", None), ("sms", None),
    ]  # fmt: skip
    [a] = [j for j in jobs if j["dedupe_key"] == "book:a"]
    assert a["payload"] == {"dispatch_id": "a"}  # the first one kept its place


async def test_enqueue_many_skips_keys_taken_before_and_within_the_batch(new_uow):
    async with new_uow() as uow:
        await uow.jobs.enqueue("callback", {"n": 0}, now=NOW, dedupe_key="notice:1")
        await uow.jobs.enqueue_many(
            [("callback", {"n": 1}, "notice:1"), ("callback", {"n": 2}, "notice:2"), ("sms", {"n": 3}, None)],
            now=NOW, max_attempts=100, delay_s=30,
        )  # fmt: skip
        await uow.jobs.enqueue_many([], now=NOW)
        jobs = {j["payload"]["n"]: j for j in await uow.jobs.list_jobs("pending")}
        assert sorted(jobs) == [0, 2, 3]
        assert (jobs[2]["max_attempts"], jobs[2]["attempts"], jobs[2]["state"]) == (100, 0, "pending")
        assert jobs[2]["run_after"] == NOW + timedelta(seconds=30)
        assert jobs[0]["run_after"] == NOW and jobs[0]["max_attempts"] == 8
        assert await uow.jobs.counts() == {"pending": 3}
        assert await uow.jobs.list_jobs("dead") == []
        assert not await uow.jobs.retry_dead(jobs[0]["id"], now=NOW)  # not dead: nothing to retry
        assert await uow.jobs.complete_many([jobs[0]["id"]], worker="w1", now=NOW) == set()  # not claimed
        assert await uow.jobs.complete_many([], worker="w1", now=NOW) == set()
        assert await uow.jobs.counts() == {"pending": 3}


async def test_list_jobs_newest_change_first_and_limited(new_uow):
    async with new_uow() as uow:
        for i in range(3):
            await uow.jobs.enqueue("k", {"i": i}, now=NOW + timedelta(seconds=i))
        assert [j["payload"]["i"] for j in await uow.jobs.list_jobs("pending", limit=2)] == [2, 1]


async def test_the_pool_hands_out_the_oldest_free_number_once_per_dispatch(new_uow):
    async with new_uow() as uow:
        await uow.pool.add(["1100000000027", "1100000000013"], now=NOW + timedelta(minutes=1))
        await uow.pool.add(["1100000000041"], now=NOW)
        await uow.pool.add(["1100000000013"], now=NOW)  # already there: kept as it was
        await uow.pool.add([], now=NOW)
        assert await uow.pool.counts() == {"free": 3, "assigned": 0}
    async with new_uow() as uow:
        assert await uow.pool.take("d1", now=NOW) == "1100000000041"
        assert await uow.pool.take("d2", now=NOW) == "1100000000013"
        assert await uow.pool.take("d1", now=NOW) == "1100000000041"  # the same one again
        assert await uow.pool.take("d3", now=NOW) == "1100000000027"
        assert await uow.pool.take("d4", now=NOW) is None
        assert await uow.pool.counts() == {"free": 0, "assigned": 3}


async def test_users_tokens_passwords_and_roles(new_uow):
    async with new_uow() as uow:
        token = await uow.users.add("wang", "staff", now=NOW)
        await uow.users.add("li", "admin", now=NOW, password_hash="argon2-hash")
    async with new_uow() as uow:
        wang = await uow.users.by_token(token)
        assert (wang.name, wang.role) == ("wang", "staff")
        assert await uow.users.by_token("cp_wrong") is None
        assert await uow.users.exists("li") and not await uow.users.exists("zhao")
        assert await uow.users.get(wang.id) == wang == await uow.users.by_name("wang")
        li, li_hash = await uow.users.password_of("li")
        assert (li.role, li_hash) == ("admin", "argon2-hash")
        assert await uow.users.password_of("zhao") is None
        new_token = await uow.users.replace_token(wang.id)
        assert await uow.users.by_token(token) is None
        assert (await uow.users.by_token(new_token)).id == wang.id
        assert await uow.users.set_role(wang.id, "admin") and not await uow.users.set_role(999, "admin")
        assert await uow.users.set_password_hash(wang.id, "h2")
        await uow.users.clear_password(li.id)
        await uow.users.revoke_token(li.id)
        listed = await uow.users.list_all()
    assert [(u["name"], u["role"], u["has_password"], u["has_token"]) for u in listed] == [
        ("li", "admin", False, False), ("wang", "admin", True, True),
    ]  # fmt: skip


async def test_complete_and_fail_touch_only_a_job_the_worker_holds(new_uow):
    async with new_uow() as uow:
        await uow.jobs.enqueue("sms", {"n": 1}, now=NOW, dedupe_key="sms:1")
        [row] = await uow.jobs.list_jobs("pending")
        job = Job(row["id"], row["kind"], row["payload"], 1, 1, "")
        assert not await uow.jobs.complete(job, worker="w1", now=NOW)  # never claimed: not ours
        assert await uow.jobs.fail(job, "boom", worker="w1", now=NOW, permanent=True) == "dead"
        [still] = await uow.jobs.list_jobs("pending")  # the answer says what it would be; nothing moved
        assert (still["id"], still["last_error"], still["dedupe_key"]) == (row["id"], "", "sms:1")
