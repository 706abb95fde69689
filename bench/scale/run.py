"""Scale benchmark: the citizen lookup, the console's list, searches, exceptions list and dashboard at a
province's size (100 halls, 1,000,000 dispatches with their audit events, scans and tracking rows) on
PostgreSQL; p50/p99 of each read on the app's own code path beside its floor, the plain EXPLAIN ANALYZE
execution time of exactly the statements it ran.

    python bench/scale/run.py [--dispatches 1000000] [--halls 100] [--samples 200] [--regenerate]
        [--url postgresql://certpost:certpost@127.0.0.1:5432/certpost_scale]

The data set is generated once (its generation time printed) and re-used while its size and the schema's
migration head match; --regenerate rebuilds it. The database is dropped and recreated: never point --url
at one that holds anything else."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
from alembic.script import ScriptDirectory
from generate import generate
from queries import APP_SESSION, Capture, Sample, explain_ms, reads, timed
from sqlalchemy import literal_column, select, text

from logistics import bootstrap
from logistics.config import Settings
from logistics.storage.db import create_engine
from logistics.storage.dispatch_codec import dispatch_from_row, event_from_row
from logistics.storage.migrate import alembic_config, upgrade
from logistics.storage.tables import dispatch_events, dispatches

DEFAULT_URL = "postgresql://certpost:certpost@127.0.0.1:5432/certpost_scale"


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _ensure_database(dsn: str) -> None:
    try:
        await (await asyncpg.connect(dsn)).close()
    except asyncpg.InvalidCatalogNameError:
        name = dsn.rsplit("/", 1)[1]
        admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()


async def _existing(dsn: str, args) -> tuple[datetime, float] | None:
    """(anchor, generation seconds) of a stored data set of this size, or None. A set generated at an
    older revision is kept: `prepare` brings its schema to the head (later migrations add to it)."""
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass('bench_scale_meta') IS NOT NULL"):
            return None
        row = await conn.fetchrow("SELECT * FROM bench_scale_meta ORDER BY created_at DESC LIMIT 1")
    finally:
        await conn.close()
    fits = row and (row["dispatches"], row["halls"]) == (args.dispatches, args.halls)
    return (row["anchor"], row["seconds"]) if fits else None


async def _migrate(url: str) -> None:
    """The schema at the migration head."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _add_halls(dsn: str, halls: int) -> None:
    """The halls' rows, named after the default hall."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """INSERT INTO halls (code, name, origin, created_at)
               SELECT 'hall-' || lpad(n::text, 3, '0'), '政务服务中心 ' || n, h.origin, now()
               FROM generate_series(1, $1) AS n, halls h WHERE h.code = 'default'
               ON CONFLICT DO NOTHING""",
            halls,
        )
    finally:
        await conn.close()


async def prepare(url: str, dsn: str, args) -> tuple[datetime, float, bool]:
    """(anchor, generation seconds, re-used): the data set, generated unless a fitting one is stored."""
    await _ensure_database(dsn)
    if not args.regenerate and (found := await _existing(dsn, args)):
        await _migrate(url)
        return found[0], found[1], True
    conn = await asyncpg.connect(dsn)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    await conn.close()
    await _migrate(url)
    await _add_halls(dsn, args.halls)
    anchor = datetime.now(UTC).replace(microsecond=0)
    print(f"generating {args.dispatches:,} dispatches over {args.halls} halls ...", flush=True)
    seconds = await generate(
        dsn, dispatches=args.dispatches, halls=args.halls, anchor=anchor, revision=_head()
    )
    return anchor, seconds, False


async def _sizes(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            t: await conn.fetchval(f"SELECT count(*) FROM {t}")
            for t in ("dispatches", "dispatch_events", "carrier_events", "tracking")
        }
    finally:
        await conn.close()


async def _samples(engine, n: int) -> list[Sample]:
    """Stored dispatches with a waybill number, from across the table; each decoded through
    dispatch_codec with its audit trail, as the app reads them."""
    async with engine.connect() as conn:
        ids = list(
            await conn.scalars(
                text(
                    "SELECT id FROM dispatches TABLESAMPLE SYSTEM (1) REPEATABLE (7)"
                    " WHERE waybill_no IS NOT NULL LIMIT :n"
                ),
                {"n": n},
            )
        )
        hall = literal_column("hall").label("hall_code")
        rows = (await conn.execute(select(dispatches, hall).where(dispatches.c.id.in_(ids)))).all()
        found = []
        for row in rows:
            d = dispatch_from_row(row)
            trail = await conn.execute(select(dispatch_events).where(dispatch_events.c.dispatch_id == d.id))
            assert [event_from_row(e) for e in trail], d.id
            found.append(Sample(row.hall_code, d.case_no, d.waybill_no, row.phone_last4, d.recipient.name))
    return found


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def measure(url: str, dsn: str, anchor: datetime, n: int) -> list[tuple]:
    settings = Settings(database_url=url)
    engine = create_engine(url)
    capture = Capture()
    capture.install(engine)
    deps = bootstrap.deps(settings, engine=engine)
    samples = await _samples(engine, n)
    explain = await asyncpg.connect(dsn, server_settings=APP_SESSION)
    results = []
    try:
        for read in reads(engine, anchor):
            for s in samples[:5]:  # warm the caches and the prepared statements
                await read.run(deps.for_hall(s.hall), s)
            ours = [await timed(read.run(deps.for_hall(s.hall), s)) for s in samples]
            floors, statements = [], 0
            for s in samples:
                with capture.recording() as ran:
                    await read.run(deps.for_hall(s.hall), s)
                floor_ms, statements = await explain_ms(explain, ran)
                floors.append(floor_ms)
            results.append((read, ours, floors, statements))
            print(_line(read, ours, floors, statements), flush=True)
    finally:
        await explain.close()
        await engine.dispose()
    return results


HEADER = f"{'read':36} {'p50':>8} {'p99':>8} {'floor p50':>10} {'floor p99':>10} {'stmts':>5}  target"


def _line(read, ours, floors, statements) -> str:
    p99 = _pct(ours, 0.99)
    verdict = "ok" if p99 < read.target_ms else "OVER"
    return (
        f"{read.label:36} {_pct(ours, 0.5):8.2f} {p99:8.2f}"
        f" {_pct(floors, 0.5):10.2f} {_pct(floors, 0.99):10.2f} {statements:5}"
        f"  p99 < {read.target_ms:.0f} ms {verdict}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dispatches", type=int, default=1_000_000)
    parser.add_argument("--halls", type=int, default=100)
    parser.add_argument("--samples", type=int, default=200, help="runs of each read (distinct dispatches)")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL (dropped and refilled)")
    args = parser.parse_args()
    dsn = args.url.replace("postgresql+asyncpg://", "postgresql://")
    url = dsn.replace("postgresql://", "postgresql+asyncpg://")
    started = time.perf_counter()
    anchor, seconds, reused = await prepare(url, dsn, args)
    sizes = await _sizes(dsn)
    print(
        f"data set: {', '.join(f'{t} {n:,}' for t, n in sizes.items())}; {args.halls} halls; "
        f"generated in {seconds:.0f} s{' (re-used)' if reused else ''}; now = {anchor:%Y-%m-%d %H:%M} UTC"
    )
    print("staff reads scoped to one hall (deps.for_hall)")
    print(f"{args.samples} runs each, ms; floor = EXPLAIN ANALYZE execution time of the statements it ran")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(HEADER)
    await measure(url, dsn, anchor, args.samples)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
