"""2,000 dispatches from intake to booked through the EMS simulator, whose rate limit is R requests/s.
The floor is 2000/R: no gateway can book faster than the carrier accepts. We pace our calls at R
(instead of collecting 429s) and book each dispatch with one call.

    python bench/booking/run.py [--dispatches N] [--rate R]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import PYTHON, Server, free_port, load
from bench.intake.run import SECRET, signed_requests

# The gateway in a real carrier mode refuses the simulator's published keys: the simulator gets its own.
SIGN_KEY = base64.b64encode(b"bench-sim-key-01").decode()  # a 16-byte SM4 key
SENDER_NO = "1100000000888"


def orders(sim: str) -> list[dict]:
    with urllib.request.urlopen(sim + "/_control/orders", timeout=120) as r:
        return json.load(r)["orders"]


def run(n: int, rate: float, db_url: str | None = None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        port, sim_port = free_port(), free_port()
        base, sim = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sim_port}"
        # The carrier is another machine in real life: the simulator gets its own process.
        sim_argv = [PYTHON, "-m", "logistics.cli", "sandbox", "--port", str(sim_port)]
        sim_argv += ["--rate-limit", str(rate), "--sign-key", SIGN_KEY, "--sender-no", SENDER_NO]
        simulator = Server(sim_argv, sim + "/_control/orders")
        env = {
            "CERTPOST_DATABASE_URL": db_url or f"sqlite+aiosqlite:///{tmp}/bench.db",
            "CERTPOST_CLIENTS": json.dumps({"approval": SECRET}),
            "CERTPOST_CARRIER": "ems_open",
            "CERTPOST_CARRIER_URL": sim,
            "CERTPOST_CARRIER_SENDER_NO": SENDER_NO,
            "CERTPOST_CARRIER_SIGN_KEY": SIGN_KEY,
            "CERTPOST_CARRIER_RATE_PER_S": str(rate),
            "CERTPOST_LOG_LEVEL": "WARNING",
        }
        argv = [PYTHON, "-m", "logistics.cli", "serve", "--port", str(port)]
        server = Server(argv, base + "/healthz", env, tmp)
        try:
            requests = signed_requests(n, f"book{time.time_ns()}")
            time.sleep(1.5)  # let the simulator's token bucket fill, as on a carrier at rest
            started = time.perf_counter()
            result = asyncio.run(load(base + "/api/v1/dispatches", requests))
            assert result.statuses == {201: n}, result.statuses
            while len(booked := orders(sim)) < n:
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
        finally:
            server.stop()
            simulator.stop()
    return elapsed, len({o["order_no"] for o in booked})


def reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from logistics.storage.db import create_engine

    async def reset():
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dispatches", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--db-url", help="an empty PostgreSQL database instead of a fresh SQLite file")
    args = parser.parse_args()
    floor = args.dispatches / args.rate
    times = []
    for r in range(args.rounds):
        if args.db_url:
            reset_postgres(args.db_url)
        elapsed, unique = run(args.dispatches, args.rate, args.db_url)
        assert unique == args.dispatches, f"{unique} distinct orders for {args.dispatches} dispatches"
        times.append(elapsed)
        print(f"round {r + 1}: {elapsed:6.2f} s, {unique} carrier orders, none twice")
    elapsed = sorted(times)[len(times) // 2]
    print(f"booking {args.dispatches} dispatches, simulator limited to {args.rate:g} req/s (median)")
    print(f"  certpost: {elapsed:6.2f} s   floor {args.dispatches}/{args.rate:g} = {floor:6.2f} s")
    print(f"  ratio {elapsed / floor:.3f} (target <= 1.1)")


if __name__ == "__main__":
    main()
