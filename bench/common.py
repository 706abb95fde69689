"""Shared pieces of the benchmarks: a load generator of keep-alive clients, and server processes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p99_ms: float
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


async def load(
    url: str,
    requests: Sequence[tuple[bytes, dict]] | Callable[[int], tuple[str, bytes | None, dict]],
    *,
    clients: int = 50,
    method: str = "POST",
    total: int | None = None,
) -> LoadResult:
    """Send the requests over `clients` concurrent keep-alive connections; time each one."""
    n = total if total is not None else len(requests)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_index = 0
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client():
            nonlocal next_index
            while next_index < n:
                i = next_index
                next_index += 1
                if callable(requests):
                    target, body, headers = requests(i)
                else:
                    (body, headers), target = requests[i], url
                start = time.perf_counter()
                async with http.request(method, target, data=body, headers=headers) as r:
                    await r.read()
                latencies.append(time.perf_counter() - start)
                statuses[r.status] = statuses.get(r.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return LoadResult(n, elapsed, p99, statuses)


class Server:
    """A server in its own process (the load generator keeps the other core)."""

    def __init__(self, argv: list[str], health_url: str, env: dict | None = None, cwd: str | None = None):
        # A file, not a pipe: nobody reads a pipe while we measure, and a full one blocks the server.
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=self.log,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(self.log.read().decode(errors="replace")[-2000:])
            try:
                urllib.request.urlopen(health_url, timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"{argv} did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


PYTHON = sys.executable
