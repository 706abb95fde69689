"""Booking N dispatches through 3 `certpost serve` instances on one PostgreSQL (of its own), the EMS simulator
limited to R requests/s and each instance told that whole rate: the time from the first submit to every
dispatch booked, beside the floor N/R (no deployment books faster than the carrier accepts). Once with
every instance running, once with one (the scheduler lease's holder) killed -9 when half the orders are at
the carrier, and not started again. The set-up is the scale-out test's (tests/scaleout/harness.py).

    python bench/scale/booking.py [--dispatches N] [--rate R] [--instances K]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.scaleout.harness import Deployment, Postgres, run_burst, start_together, why_no_postgres

TARGETS = {"all running": 1.1, "one killed mid-burst": 1.3}


def run(pg: Postgres, n: int, rate: float, instances: int, *, kill: bool) -> tuple[float | None, str]:
    with tempfile.TemporaryDirectory() as tmp:
        dep = Deployment(Path(tmp), size=instances, rate=rate, pg=pg, CERTPOST_LOG_LEVEL="WARNING")
        try:
            start_together(dep.instances)
            burst = asyncio.run(
                run_burst(
                    dep, n, drain_limit_s=max(60.0, 5 * n / rate), kill_after=0.5 if kill else None,
                    kill_on_booked=True,
                )
            )  # fmt: skip
        finally:
            dep.close()
    per_order = Counter(o["order_no"] for o in burst.orders)
    ours = {r["order_no"] for r in burst.rows}
    twice = sum(1 for k in per_order.values() if k > 1)
    strays = len(set(per_order) - ours)
    assert not twice and not strays, f"{twice} orders booked twice, {strays} orders of no dispatch"
    if burst.seconds is None:
        return None, f"not all booked: {dict(burst.statuses)}"
    submits = burst.approval.finished - burst.approval.started
    seen = f"{len(per_order)} carrier orders, none twice; the submits took {submits:.1f} s"
    if burst.kill:
        seen += f"; instance {burst.kill.instance} killed at {burst.kill.at - burst.approval.started:+.1f} s"
    return burst.seconds, seen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dispatches", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--instances", type=int, default=3)
    args = parser.parse_args()
    if reason := why_no_postgres():
        sys.exit(f"bench/scale/booking.py needs PostgreSQL: {reason}")
    n, rate = args.dispatches, args.rate
    floor = n / rate
    pg = Postgres()
    results = {}
    try:
        for name in TARGETS:
            results[name] = run(pg, n, rate, args.instances, kill=name != "all running")
            print(f"{name}: {results[name][1]}")
    finally:
        pg.stop()
    print(f"booking {n} dispatches through {args.instances} instances on PostgreSQL, simulator limited to")
    print(f"{rate:g} req/s and each instance told {rate:g} req/s (from the first submit to all booked)")
    for name, target in TARGETS.items():
        elapsed = results[name][0]
        if elapsed is None:
            print(f"  {name:21} not drained   floor {n}/{rate:g} = {floor:6.2f} s   (target <= {target})")
            continue
        ratio = f"ratio {elapsed / floor:.3f} (target <= {target})"
        print(f"  {name:21} {elapsed:6.2f} s   floor {n}/{rate:g} = {floor:6.2f} s   {ratio}")


if __name__ == "__main__":
    main()
