"""Signed intake requests/s and p99 at 50 concurrent keep-alive clients, beside a bare aiohttp handler
that only reads the body and answers 201, measured in the same run. Durable commits (SQLite WAL,
synchronous=FULL), grouped.

    python bench/intake/run.py [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import PYTHON, Server, free_port, load, median
from logistics.domain.signing import sign_headers
from tests.fixtures.dispatches import intake_body

SECRET = "bench-secret"


def signed_requests(n: int, tag: str) -> list[tuple[bytes, dict]]:
    now = int(time.time())
    out = []
    for i in range(n):
        body = json.dumps(intake_body(f"BENCH-{tag}-{i}"), ensure_ascii=False).encode()
        out.append(
            (body, {**sign_headers("approval", SECRET, body, now), "Content-Type": "application/json"})
        )
    return out


def measure_gateway(n: int, tag: str):
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            "CERTPOST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "CERTPOST_CLIENTS": json.dumps({"approval": SECRET}),
            "CERTPOST_AUTO_BOOK": "false",
            "CERTPOST_LOG_LEVEL": "WARNING",
        }
        server = Server(
            [PYTHON, "-m", "logistics.cli", "serve", "--port", str(port)],
            f"http://127.0.0.1:{port}/healthz",
            env,
            tmp,
        )
        try:
            result = asyncio.run(load(f"http://127.0.0.1:{port}/api/v1/dispatches", signed_requests(n, tag)))
        finally:
            server.stop()
    assert result.statuses == {201: n}, result.statuses
    return result


def measure_floor(n: int, tag: str):
    port = free_port()
    server = Server([PYTHON, str(Path(__file__).with_name("bare_server.py")), str(port)],
                    f"http://127.0.0.1:{port}/healthz")  # fmt: skip
    try:
        return asyncio.run(load(f"http://127.0.0.1:{port}/api/v1/dispatches", signed_requests(n, tag)))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ours, floor = [], []
    for r in range(args.rounds):
        floor.append(measure_floor(args.requests, f"f{r}"))
        ours.append(measure_gateway(args.requests, f"g{r}"))
        print(
            f"round {r + 1}: certpost {ours[-1].rps:8.0f} req/s p99 {ours[-1].p99_ms:6.1f} ms | "
            f"bare aiohttp {floor[-1].rps:8.0f} req/s p99 {floor[-1].p99_ms:6.1f} ms"
        )
    our_rps, floor_rps = median([o.rps for o in ours]), median([f.rps for f in floor])
    print(f"intake, {args.requests} signed requests x {args.rounds} rounds, 50 keep-alive clients (medians)")
    our_p99, floor_p99 = median([o.p99_ms for o in ours]), median([f.p99_ms for f in floor])
    print(f"  certpost (durable group commit): {our_rps:8.0f} req/s   p99 {our_p99:6.1f} ms")
    print(f"  floor (bare aiohttp 201):        {floor_rps:8.0f} req/s   p99 {floor_p99:6.1f} ms")
    print(f"  ratio {our_rps / floor_rps:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
