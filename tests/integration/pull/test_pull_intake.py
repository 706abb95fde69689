"""Pull intake against the approval-system simulator over loopback, on SQLite and PostgreSQL: every case
stored once, the cursor durable and moved with the page's dispatches, a bad item reported and skipped, the
same idempotency as a push, backoff while the approval system is down, signed polls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from aiohttp import web
from sqlalchemy import func, select

from adapters.approval import HttpPageSource
from adapters.approval.simulator import STATE, create_approval_sim
from logistics import bootstrap
from logistics.bootstrap import pull_builder
from logistics.config import Settings
from logistics.domain.errors import Conflict
from logistics.service import pull
from logistics.service.intake import record_intake
from logistics.storage.pull_repo import SqlPullCursors
from logistics.storage.pull_tables import pull_rejects
from logistics.storage.tables import dispatches
from logistics.storage.unit_of_work import unit_of_work_factory
from logistics.web.api.dispatches import SignedIntake, intake_request
from tests.e2e.gateway import free_port

PULLER, SECRET = "puller", "pull-secret-0123456789"


class ShiftClock:
    """Real time (the simulator checks the signature's timestamp) that a test can move forward."""

    def __init__(self):
        self.shift = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift


@pytest.fixture
async def sim():
    app = create_approval_sim(cases=10, client=PULLER, secret=SECRET, day="20261203")
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield SimpleNamespace(state=app[STATE], url=f"http://127.0.0.1:{port}/cases")
    await runner.cleanup()


def settings_for(db_url: str, sim, **over) -> Settings:
    fields = dict(
        database_url=db_url, clients={PULLER: SECRET, "approval": "other-secret"}, pull_url=sim.url,
        pull_client=PULLER, pull_limit=4, pull_interval_s=1.0, auto_book=False,
    )  # fmt: skip
    return Settings(**(fields | over))


class Rig:
    def __init__(self, engine, settings, clock=None):
        self.clock = clock or ShiftClock()
        self.deps = bootstrap.deps(settings, engine=engine, clock=self.clock)
        self.source = HttpPageSource(5.0, settings.pull_max_page_bytes)
        self.puller = None

    async def __aenter__(self):
        await self.source.open()
        self.puller = pull.Puller(self.deps, self.source, pull_builder(self.deps.settings))
        return self

    async def __aexit__(self, *exc):
        await self.source.close()


async def stored_cases(engine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(dispatches.c.case_no).where(dispatches.c.client_id == PULLER))
        return [r.case_no for r in rows]


async def cursor_state(engine):
    async with engine.connect() as conn:
        return await SqlPullCursors(conn).state(PULLER)


def cases_of(sim) -> list[str]:
    return [c["case_no"] for c in sim.state.cases]


async def test_every_case_is_stored_once_and_a_bad_item_is_skipped(engine, db_url, sim):
    sim.state.bad.add(5)  # second page, in the middle
    async with Rig(engine, settings_for(db_url, sim)) as rig:
        await rig.puller.tick()
        stored = await stored_cases(engine)
        assert sorted(stored) == sorted(c for i, c in enumerate(cases_of(sim)) if i != 5)
        state = await cursor_state(engine)
        counts = (state.cursor, state.pulled, state.rejected, state.consecutive_failures)
        assert counts == ("c00000010", 9, 1, 0)
        async with engine.connect() as conn:
            (reject,) = await SqlPullCursors(conn).recent_rejects(PULLER)
            raw = [dict(r._mapping) for r in await conn.execute(select(pull_rejects))]
        assert (reject.case_no, reject.reason, reject.after, reject.position) == (
            cases_of(sim)[5],
            "invalid",
            "c00000004",
            1,
        )
        assert [e["field"] for e in reject.errors] == ["recipient.phone"]
        bad = sim.state.item(5)
        text = json.dumps(raw, ensure_ascii=False, default=str)
        for personal in (bad["recipient"]["name"], "12345", bad["address"]["detail"]):
            assert personal not in text

        # caught up: the next tick asks from the stored cursor and takes nothing twice
        seen = len(sim.state.requests)
        await rig.puller.tick()
        assert [r["after"] for r in sim.state.requests[seen:]] == ["c00000010"]
        assert sorted(await stored_cases(engine)) == sorted(stored)
    requests = sim.state.requests
    assert requests and all(r["signed"] for r in requests)
    assert [r["after"] for r in requests[:4]] == ["", "c00000004", "c00000008", "c00000010"]


async def test_the_cursor_is_durable_a_new_puller_resumes_without_gap_or_duplicate(engine, db_url, sim):
    settings = settings_for(db_url, sim)
    async with Rig(engine, settings) as first:
        first.puller.max_pages = 1  # stops after one page, as a gateway stopped mid-way
        await first.puller.tick()
    assert len(await stored_cases(engine)) == 4
    sim.state.add(5)  # the approval system goes on completing cases meanwhile
    seen = len(sim.state.requests)
    async with Rig(engine, settings) as second:
        await second.puller.tick()
    assert sim.state.requests[seen]["after"] == "c00000004"
    stored = await stored_cases(engine)
    assert sorted(stored) == sorted(cases_of(sim)) and len(stored) == 15


async def test_the_cursor_moves_in_the_transaction_that_stores_the_page(engine, db_url, sim, monkeypatch):
    """A failure after the page's dispatches were written leaves neither them nor a moved cursor."""
    real = SqlPullCursors.add_rejects
    calls = {"n": 0}

    async def fail_on_second_page(self, client_id, rejects):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk gone")
        return await real(self, client_id, rejects)

    monkeypatch.setattr(SqlPullCursors, "add_rejects", fail_on_second_page)
    async with Rig(engine, settings_for(db_url, sim)) as rig:
        with pytest.raises(OSError):
            await rig.puller.tick()
        assert len(await stored_cases(engine)) == 4  # the second page's four are not there
        assert (await cursor_state(engine)).cursor == "c00000004"
        await rig.puller.tick()
    assert sorted(await stored_cases(engine)) == sorted(cases_of(sim))


async def test_pulled_and_pushed_cases_share_one_idempotency(engine, db_url, sim):
    settings = settings_for(db_url, sim)
    first, second = sim.state.cases[0], sim.state.cases[1]
    push = intake_request(settings)
    now = datetime.now(UTC)
    # pushed before the pull with other content: the pulled item is a conflict, reported and skipped
    pushed = push(SignedIntake(json.dumps({**second, "weight_g": 999}).encode(), PULLER, now))
    async with unit_of_work_factory(engine)() as uow:
        await record_intake(uow, pushed)
    async with Rig(engine, settings) as rig:
        await rig.puller.tick()
    async with engine.connect() as conn:
        (reject,) = await SqlPullCursors(conn).recent_rejects(PULLER)
    got = (reject.case_no, reject.reason, reject.errors[0]["field"])
    assert got == (second["case_no"], "conflict", "case_no")
    assert sorted(await stored_cases(engine)) == sorted(cases_of(sim))  # 10: the pushed one counts once

    # pushed after the pull: the same body (keys in another order) replays, another body conflicts
    async with engine.connect() as conn:
        query = select(dispatches.c.id).where(dispatches.c.case_no == first["case_no"])
        original = (await conn.execute(query)).one()
    same = json.dumps(dict(reversed(list(first.items()))), ensure_ascii=False).encode()
    async with unit_of_work_factory(engine)() as uow:
        replay = await record_intake(uow, push(SignedIntake(same, PULLER, now)))
    assert not replay.created and replay.response["id"] == original.id
    other = json.dumps({**first, "weight_g": 321}).encode()
    with pytest.raises(Conflict):
        async with unit_of_work_factory(engine)() as uow:
            await record_intake(uow, push(SignedIntake(other, PULLER, now)))


async def test_backoff_while_the_approval_system_is_down_then_recovery(engine, db_url, sim):
    clock = ShiftClock()
    deps = bootstrap.deps(settings_for(db_url, sim), engine=engine, clock=clock)
    sim.state.faults += ["http_503"] * 3
    async with Rig(engine, deps.settings, clock) as rig:
        gaps = []
        for n in (1, 2, 3):
            await rig.puller.tick()
            state = await cursor_state(engine)
            assert state.consecutive_failures == n and state.last_error.startswith("http_503")
            gaps.append((state.next_attempt_at - state.last_attempt_at).total_seconds())
            health = await pull.status(deps)
            assert (health["ok"], health["state"], health["error"]) == (False, "failing", "http_503")
            seen = len(sim.state.requests)
            await rig.puller.tick()  # still backing off: nothing is sent
            assert len(sim.state.requests) == seen
            clock.shift += timedelta(seconds=gaps[-1] + 0.01)
        assert 0.5 <= gaps[0] <= 1.0 and 2.0 <= gaps[2] <= 4.0  # doubles each time (jittered)

        sim.state.faults += ["malformed"]
        await rig.puller.tick()
        assert (await pull.status(deps))["error"] == "malformed"
        clock.shift += timedelta(seconds=60)
        sim.state.faults += ["down"] * 4  # a dropped connection (aiohttp retries once on a reused one)
        await rig.puller.tick()
        assert (await pull.status(deps))["error"] == "unreachable"
        assert (await cursor_state(engine)).cursor is None and await stored_cases(engine) == []

        sim.state.faults.clear()
        clock.shift += timedelta(seconds=120)
        await rig.puller.tick()
    health = await pull.status(deps)
    assert (health["ok"], health["state"], health["cursor"]) == (True, "ok", "c00000010")
    assert health["last_ok_at"] is not None and "error" not in health
    assert len(await stored_cases(engine)) == 10


async def test_polls_are_signed_with_the_pull_clients_secret(engine, db_url, sim):
    wrong = settings_for(db_url, sim, clients={PULLER: "not-the-secret", "approval": "x"})
    async with Rig(engine, wrong) as rig:
        await rig.puller.tick()
    assert sim.state.requests[-1]["signed"] is False
    assert (await pull.status(bootstrap.deps(wrong, engine=engine, clock=ShiftClock())))[
        "error"
    ] == "http_401"
    assert await stored_cases(engine) == []


async def test_a_stale_cursor_stores_nothing_and_says_so(engine, db_url, sim):
    """Two instances leading at once (clock skew) cannot both move the cursor from the same place."""
    settings = settings_for(db_url, sim)
    async with Rig(engine, settings) as a, Rig(engine, settings) as b:
        await a.puller.tick()
        page = pull.Page(sim.state.cases[:2], "c00000002")
        assert await b.puller._store(None, page) is None
    assert (await cursor_state(engine)).cursor == "c00000010"
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(dispatches)) == 10


def test_pull_settings_are_checked_before_start():
    base = {"pull_url": "http://127.0.0.1:1/cases", "clients": {"approval": "s"}}
    with pytest.raises(pull.PullMisconfigured, match="CERTPOST_PULL_CLIENT"):
        pull.check_settings(Settings(**base))
    with pytest.raises(pull.PullMisconfigured, match="不在 CERTPOST_CLIENTS"):
        pull.check_settings(Settings(**base, pull_client="puller"))
    with pytest.raises(pull.PullMisconfigured, match="http"):
        pull.check_settings(Settings(**base | {"pull_url": "ftp://x/y"}, pull_client="approval"))
    pull.check_settings(Settings(**base, pull_client="approval"))
    pull.check_settings(Settings())  # not configured: nothing to check


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (503, b"", "http_503"),
        (200, b"<html>", "malformed"),
        (200, b'{"next_cursor": "x"}', "malformed"),
        (200, b'{"items": [{}], "next_cursor": null}', "malformed"),
        (200, b'{"items": [], "next_cursor": ""}', "malformed"),
    ],
)
def test_an_unusable_page_is_a_failure_not_a_skip(status, body, code):
    with pytest.raises(pull.PageError) as e:
        pull.parse_page(status, body)
    assert e.value.code == code
    assert pull.parse_page(200, b'{"items": [], "next_cursor": null}') == pull.Page([], None)


async def test_items_that_are_not_cases_or_too_large_are_skipped_by_name(engine, db_url, sim):
    settings = settings_for(db_url, sim, max_body_bytes=4096)
    good = sim.state.cases[0]
    huge = {**sim.state.cases[1], "matter_name": "许" * 5000}
    page = pull.Page(["not an object", huge, good, {"case_no": "AF 1"}], "c00000004")
    async with engine.begin() as conn:
        await SqlPullCursors(conn).ensure(PULLER)  # as a tick does first
    async with Rig(engine, settings) as rig:
        assert await rig.puller._store(None, page) == "c00000004"
        async with engine.connect() as conn:
            rejects = sorted(await SqlPullCursors(conn).recent_rejects(PULLER), key=lambda r: r.position)
    got = [(r.position, r.case_no, r.reason, r.errors[0]["field"]) for r in rejects]
    assert got[:2] == [(0, None, "invalid", "body"), (1, huge["case_no"], "too_large", "body")]
    assert got[2][:3] == (3, None, "invalid")  # a case_no that is not one is not echoed
    assert await stored_cases(engine) == [good["case_no"]]
