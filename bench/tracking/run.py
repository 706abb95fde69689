"""Tracking benchmarks, each beside its floor measured in the same run.

(a) One poll cycle over N active parcels against the EMS simulator (own process) limited to R req/s:
    elapsed beside the floor N / R (target ratio <= 1.1). The database is seeded directly.
(b) Citizen lookups/s and p99 at 50 keep-alive clients beside a bare aiohttp JSON handler
    (target ratio >= 0.5), against the database left by (a).

    python bench/tracking/run.py [--parcels N] [--rate R] [--lookups M]"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import func, insert, select

from adapters import build_carrier
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY
from bench.common import PYTHON, Server, free_port, load, median
from logistics import bootstrap
from logistics.clock import SystemClock
from logistics.config import Settings
from logistics.domain.status import Status
from logistics.jobs import queue
from logistics.jobs.worker import WorkerPool
from logistics.service import polling
from logistics.service.resilience import GuardedCarrier
from logistics.service.views import dispatch_json
from logistics.storage.db import create_engine, reading
from logistics.storage.dispatch_codec import dispatch_row
from logistics.storage.group_commit import GroupCommitter, write_grouped
from logistics.storage.job_repo import SqlJobs
from logistics.storage.migrate import upgrade
from logistics.storage.tables import dispatches
from logistics.storage.tracking_tables import carrier_events, tracking
from logistics.storage.unit_of_work import SqlWrites
from tests.fixtures.dispatches import make_dispatch

HERE = Path(__file__).parent


async def seed(engine, waybills: list[str]) -> None:
    await upgrade(engine)
    now = SystemClock().now()
    for start in range(0, len(waybills), 2000):
        chunk = [
            make_dispatch(f"BENCH-{i}", status=Status.BOOKED, waybill_no=wb, created_at=now)
            for i, wb in enumerate(waybills[start : start + 2000], start)
        ]
        async with engine.begin() as conn:
            rows = [dispatch_row(d, d.case_no, dispatch_json(d)) for d in chunk]
            await conn.execute(insert(dispatches), rows)
            follow = dict(active=True, started_at=now, next_poll_at=now, polls=0)
            await conn.execute(
                insert(tracking), [dict(follow, dispatch_id=d.id, waybill_no=d.waybill_no) for d in chunk]
            )


async def poll_cycle(db_url: str, sim_url: str, waybills: list[str], rate: float) -> dict:
    engine = create_engine(db_url)
    await seed(engine, waybills)
    settings = Settings(carrier_rate_per_s=rate, poll_batch=50, job_lease_s=60, workers=16)
    keys = {"sender_no": DEFAULT_SENDER_NO, "sign_key": DEFAULT_SIGN_KEY}
    inner = build_carrier("ems_open", base_url=sim_url, timeout_s=10, **keys)
    carrier = GuardedCarrier(inner, concurrency=64, rate_per_s=rate)
    deps = bootstrap.deps(settings, engine=engine, clock=SystemClock(), carrier=carrier, known_codes=None)
    committer = GroupCommitter(deps.uow, write_grouped, max_batch=200)  # as the gateway groups poll writes
    deps.writes = SqlWrites(committer)
    await committer.start()
    pool = WorkerPool(
        engine, deps.clock, polling.job_handlers(deps), concurrency=settings.workers, lease_s=60
    )
    started, cpu = time.perf_counter(), time.process_time()
    queued = await polling.schedule_due(deps, limit=len(waybills))
    swept = time.perf_counter() - started
    await pool.start()
    while True:
        async with reading(engine) as conn:  # a reader: never queues for SQLite's write lock
            counts = await SqlJobs(conn).counts()
        if not counts.get(queue.PENDING) and not counts.get(queue.RUNNING):
            break
        await asyncio.sleep(0.2)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await pool.stop()
    await committer.stop()
    async with reading(engine) as conn:
        polled = await conn.scalar(select(func.count()).where(tracking.c.polls > 0))
        errors = await conn.scalar(
            select(func.count()).where(tracking.c.polls > 0, tracking.c.last_event_at.is_(None))
        )
        events = await conn.scalar(select(func.count()).select_from(carrier_events))
        dead = counts.get(queue.DEAD, 0)
    await carrier.close()
    await engine.dispose()
    return {"queued": queued, "polled": polled, "without_scans": errors, "events": events, "dead_jobs": dead,
            "elapsed_s": elapsed, "sweep_s": swept, "cpu_s": cpu}  # fmt: skip


async def empty_database(url: str) -> None:
    from sqlalchemy import text

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def lookups(port: int, waybills: list[str], n: int):
    rng = random.Random(7)

    def request(i: int):
        wb = rng.choice(waybills)
        return f"http://127.0.0.1:{port}/api/v1/track?waybill_no={wb}&phone_last4=1234", None, {}

    return asyncio.run(load("", request, clients=50, method="GET", total=n))


def measure_citizen(db_url: str, tmp: str, waybills: list[str], n: int):
    port = free_port()
    env = {"CERTPOST_DATABASE_URL": db_url, "CERTPOST_AUTO_BOOK": "false", "CERTPOST_SCHEDULER": "false",
           "CERTPOST_LOG_LEVEL": "WARNING", "CERTPOST_CITIZEN_MAX_FAILURES": "1000000000"}  # fmt: skip
    server = Server([PYTHON, "-m", "logistics.cli", "serve", "--port", str(port)],
                    f"http://127.0.0.1:{port}/healthz", env, tmp)  # fmt: skip
    try:
        result = lookups(port, waybills, n)
    finally:
        server.stop()
    assert result.statuses == {200: n}, result.statuses
    return result


def measure_bare(waybills: list[str], n: int):
    port = free_port()
    server = Server([PYTHON, str(HERE / "bare.py"), str(port)], f"http://127.0.0.1:{port}/healthz")
    try:
        return lookups(port, waybills, n)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parcels", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=400.0)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--db-url", default="", help="e.g. postgresql+asyncpg://… (emptied first); default SQLite"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port, listing = free_port(), Path(tmp) / "waybills.json"
        argv = [PYTHON, str(HERE / "sim.py"), str(port), str(args.parcels), str(args.rate), str(listing)]
        sim = Server(argv, f"http://127.0.0.1:{port}/_control/subscribers")
        try:
            waybills = json.loads(listing.read_text())
            db_url = args.db_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
            if args.db_url:
                asyncio.run(empty_database(args.db_url))
            cycle = asyncio.run(poll_cycle(db_url, f"http://127.0.0.1:{port}", waybills, args.rate))
        finally:
            sim.stop()
        floor_s = args.parcels / args.rate
        print(f"(a) poll cycle, {args.parcels} active parcels, simulator limited to {args.rate:.0f} req/s")
        elapsed = cycle["elapsed_s"]
        print(f"    certpost: {elapsed:7.1f} s   floor {args.parcels}/{args.rate:.0f} = {floor_s:.1f} s"
              f"   ratio {elapsed / floor_s:.3f} (target <= 1.1)")  # fmt: skip
        print(f"    polled {cycle['polled']}, no scans {cycle['without_scans']}, "
              f"events stored {cycle['events']}, dead jobs {cycle['dead_jobs']}")  # fmt: skip
        print(f"    sweep (queueing the jobs) {cycle['sweep_s']:.2f} s; certpost CPU {cycle['cpu_s']:.1f} s")
        ours, bare = [], []
        for r in range(args.rounds):
            bare.append(measure_bare(waybills, args.lookups))
            ours.append(measure_citizen(db_url, tmp, waybills, args.lookups))
            print(f"    round {r + 1}: certpost {ours[-1].rps:7.0f} req/s p99 {ours[-1].p99_ms:6.1f} ms | "
                  f"bare {bare[-1].rps:7.0f} req/s p99 {bare[-1].p99_ms:6.1f} ms")  # fmt: skip
    our_rps, bare_rps = median([o.rps for o in ours]), median([b.rps for b in bare])
    print(f"(b) citizen lookups, {args.lookups} x {args.rounds} rounds, 50 keep-alive clients (medians)")
    print(f"    certpost: {our_rps:7.0f} req/s p99 {median([o.p99_ms for o in ours]):6.1f} ms")
    print(f"    bare aiohttp JSON: {bare_rps:7.0f} req/s p99 {median([b.p99_ms for b in bare]):6.1f} ms")
    print(f"    ratio {our_rps / bare_rps:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
