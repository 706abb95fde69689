"""Several `certpost serve` instances on one PostgreSQL of their own, a standalone EMS simulator limited to
R requests/s, and an approval system submitting signed dispatches round-robin: the scale-out test
(tests/scaleout) and the booking benchmark (bench/scale/booking.py) are both built from these parts."""

from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg

from tests.e2e.gateway import CLIENT, SECRET, carrier_env, free_port, sandbox_command, sign
from tests.fixtures.dispatches import intake_body

DONE = ("booked", "label_printed")
"""Where a dispatch's booking ends when nothing is wrong (auto-print may move it on to label_printed)."""


def pg_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries (Debian's layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def why_no_postgres() -> str | None:
    """None when this machine can run a PostgreSQL of our own, else why not."""
    if pg_bin_dir() is None:
        return "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (.ci/run installs them)"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run initdb as"
    return None


class Postgres:
    """A throwaway cluster in a temp dir on a free port, owned by the `postgres` OS user when we are root
    (PostgreSQL refuses to run as root). `restart()` is `pg_ctl restart -m fast`."""

    def __init__(self):
        self.bin = pg_bin_dir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="certpost-pg-"))
        self.data = self.dir / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "certpost", "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", opts, "-w", "start"
        )
        self.databases = 0

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.dir, timeout=120)

    def new_database(self) -> str:
        """An empty database: its SQLAlchemy URL for the gateways."""
        self.databases += 1
        name = f"certpost{self.databases}"
        asyncio.run(self._execute("postgres", f'CREATE DATABASE "{name}"'))
        return f"postgresql+asyncpg://certpost@127.0.0.1:{self.port}/{name}"

    async def _execute(self, db: str, sql: str) -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user="certpost", database=db)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def restart(self) -> tuple[float, float]:
        """`pg_ctl restart -m fast`: the wall-clock (down, up) around it."""
        down = time.time()
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-m", "fast", "-w", "restart"
        )
        return down, time.time()

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


async def fetch(url: str, sql: str, *args) -> list:
    """One query on its own connection (the server may have restarted since the last one)."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=10)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


class Process:
    """A server in its own process group, its output in a log file."""

    def __init__(self, argv: list[str], log: Path, env: dict | None = None, cwd: Path | None = None):
        self.argv, self.log, self.env, self.cwd = argv, log, env, cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdout=out, stderr=out, start_new_session=True
            )
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_tail(self, chars: int = 1500) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).read()
        return True
    except OSError:
        return False


def wait_until(predicate, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


class Simulator(Process):
    """`certpost sandbox` accepting at most `rate` requests/s (more are answered busy, with Retry-After)."""

    def __init__(self, workdir: Path, rate: float):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        argv = [*sandbox_command(self.port), "--rate-limit", str(rate)]
        super().__init__(argv, workdir / "sandbox.log")

    def start(self) -> Simulator:
        super().start()
        wait_until(lambda: answers(self.base + "/_control/orders"), 30, "the simulator")
        return self

    def orders(self) -> list[dict]:
        with urllib.request.urlopen(self.base + "/_control/orders", timeout=60) as r:
            return json.load(r)["orders"]


class Instance(Process):
    """One `certpost serve`; a restart starts a new process (and log) on the same port."""

    def __init__(self, index: int, workdir: Path, env: dict):
        self.index, self.port, self.workdir = index, free_port(), workdir
        self.base = f"http://127.0.0.1:{self.port}"
        self.starts = 0
        self.logs: list[Path] = []
        argv = [sys.executable, "-m", "logistics.cli", "serve", "--port", str(self.port)]
        super().__init__(argv, workdir / f"serve-{index}.log", env, workdir)

    def start(self) -> Instance:
        self.starts += 1
        self.log = self.workdir / f"serve-{self.index}-{self.starts}.log"
        self.logs.append(self.log)
        return super().start()

    def ready(self) -> bool:
        return answers(self.base + "/healthz")


def instance_env(db_url: str, sim_url: str, rate: float, **extra: str) -> dict:
    return {
        **os.environ,
        "CERTPOST_DATABASE_URL": db_url,
        "CERTPOST_CLIENTS": json.dumps({CLIENT: SECRET}),
        **carrier_env(sim_url),
        "CERTPOST_CARRIER_RATE_PER_S": str(rate),  # each instance is told the carrier's whole rate
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_together(instances: list[Instance], seconds: float = 90) -> dict[int, str]:
    """Start every instance at the same moment (on an empty database they all migrate at once). Those
    that exit instead of answering are started again, one by one, so the run can go on; their index maps
    to the tail of their first log."""
    for inst in instances:
        inst.start()
    exited: dict[int, str] = {}
    deadline = time.time() + seconds
    while time.time() < deadline and not all(i.ready() for i in instances if i.index not in exited):
        for inst in instances:
            if inst.index not in exited and not inst.alive():
                exited[inst.index] = "\n".join(line[-300:] for line in inst.log_tail(4000).splitlines()[-2:])
        time.sleep(0.1)
    for index in exited:
        inst = instances[index]
        inst.start()
        wait_until(inst.ready, seconds, f"instance {index} restarted")
    not_ready = [i.index for i in instances if not i.ready()]
    if not_ready:
        raise TimeoutError(f"instances {not_ready} did not answer /healthz")
    return exited


@dataclass
class Attempt:
    at: float  # wall clock when the answer (or the connection error) came
    instance: int
    status: int  # 0: connection refused, reset or timed out
    retry_after: str | None = None


@dataclass
class Case:
    case_no: str
    body: bytes
    attempts: list[Attempt] = field(default_factory=list)
    dispatch_id: str | None = None
    accepted_status: int | None = None  # 201, or 200 for a replay of a case accepted before
    rejected: str | None = None


class ApprovalSystem:
    """The approval system: pushes each case round-robin over the instances and, on a 503, pushes the same
    case again (to the next instance, as a proxy would) after Retry-After; after a connection error, half
    a second later; a 500 is retried after a second, and counted. Every 201 is recorded with its id."""

    def __init__(
        self, bases: list[str], n: int, tag: str, *, clients: int = 24, pace_per_s: float | None = None
    ):
        self.bases, self.clients, self.pace = bases, clients, pace_per_s
        self.cases = [
            Case(
                f"SCALE-{tag}-{i:05d}",
                json.dumps(intake_body(f"SCALE-{tag}-{i:05d}"), ensure_ascii=False).encode(),
            )
            for i in range(n)
        ]
        self.accepted = 0
        self.started = self.finished = 0.0
        self._turn = 0

    async def run(self) -> None:
        self.started = time.time()
        queue = iter(enumerate(self.cases))
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as http:

            async def client():
                for i, case in queue:
                    if self.pace:
                        await asyncio.sleep(max(0.0, self.started + i / self.pace - time.time()))
                    await self._push(http, i, case)

            await asyncio.gather(*(client() for _ in range(self.clients)))
        self.finished = time.time()

    async def _push(self, http: aiohttp.ClientSession, i: int, case: Case) -> None:
        target = i % len(self.bases)
        while True:
            try:
                async with http.post(
                    self.bases[target] + "/api/v1/dispatches", data=case.body, headers=sign(case.body)
                ) as r:
                    raw = await r.read()
                    attempt = Attempt(time.time(), target, r.status, r.headers.get("Retry-After"))
            except (aiohttp.ClientError, TimeoutError):
                attempt, raw = Attempt(time.time(), target, 0), b""
            case.attempts.append(attempt)
            if attempt.status in (200, 201):
                case.dispatch_id = json.loads(raw)["id"]
                case.accepted_status = attempt.status
                self.accepted += 1
                return
            if attempt.status not in (0, 500, 502, 503, 504):
                case.rejected = f"{attempt.status} {raw[:200]!r}"
                return
            delay = 0.5 if attempt.status == 0 else 1.0  # no answer: try the next instance soon
            if attempt.retry_after and attempt.retry_after.isdigit():
                delay = min(float(attempt.retry_after), 10.0)
            await asyncio.sleep(delay)
            target = (target + 1) % len(self.bases)

    def statuses(self) -> Counter:
        return Counter(a.status for c in self.cases for a in c.attempts)

    def attempts_between(self, start: float, end: float) -> list[Attempt]:
        return [a for c in self.cases for a in c.attempts if start <= a.at <= end]


def scheduler_ticks(instances: list[Instance]) -> list[tuple[float, str, str]]:
    """(wall time, holder, tick name) of every scheduled tick any instance ran, oldest first, from the
    scheduler's debug line `scheduled <name> on <holder>` (needs CERTPOST_LOG_LEVEL=DEBUG)."""
    ticks = []
    for inst in instances:
        for log in inst.logs:
            for line in log.read_text(errors="replace").splitlines():
                if '"scheduled ' not in line or " on " not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                name, _, holder = entry["msg"].removeprefix("scheduled ").partition(" on ")
                at = datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()
                ticks.append((at, holder, name))
    return sorted(ticks)


def leadership_runs(ticks: list[tuple[float, str, str]]) -> list[tuple[str, float, float]]:
    """Consecutive ticks of one holder as (holder, first, last)."""
    runs: list[tuple[str, float, float]] = []
    for at, holder, _ in ticks:
        if runs and runs[-1][0] == holder:
            runs[-1] = (holder, runs[-1][1], at)
        else:
            runs.append((holder, at, at))
    return runs


async def dispatch_rows(db_url: str) -> list:
    return await fetch(db_url, "SELECT id, case_no, status, order_no, waybill_no FROM dispatches")


async def lease_holder(db_url: str) -> str | None:
    try:
        rows = await fetch(db_url, "SELECT holder FROM leases WHERE name = 'scheduler'")
    except (OSError, asyncpg.PostgresError):
        return None
    return rows[0]["holder"] if rows else None


async def wait_drained(db_url: str, expected: int, seconds: float) -> tuple[float | None, Counter]:
    """Poll until `expected` dispatches are all booked (or printed): the wall time it happened (None if it
    did not within `seconds`) and the last count per status."""
    deadline = time.time() + seconds
    counts: Counter = Counter()
    while time.time() < deadline:
        try:
            rows = await fetch(db_url, "SELECT status, count(*) AS n FROM dispatches GROUP BY status")
            counts = Counter({r["status"]: r["n"] for r in rows})
        except (OSError, asyncpg.PostgresError):
            pass
        if sum(counts[s] for s in DONE) >= expected:
            return time.time(), counts
        await asyncio.sleep(0.25)
    return None, counts


class Deployment:
    """PostgreSQL, the simulator and `size` instances, all fresh; `close()` stops everything."""

    def __init__(self, workdir: Path, *, size: int, rate: float, pg: Postgres | None = None, **env: str):
        self.workdir, self.rate = workdir, rate
        self.own_pg = pg is None
        self.pg = pg or Postgres()
        self.sim: Simulator | None = None
        self.instances: list[Instance] = []
        try:
            self.db_url = self.pg.new_database()
            self.sim = Simulator(workdir, rate).start()
            base_env = instance_env(self.db_url, self.sim.base, rate, **env)
            self.instances = [Instance(i, workdir, base_env) for i in range(size)]
        except BaseException:
            self.close()
            raise

    def instance_of(self, holder: str | None) -> Instance | None:
        """The running instance behind a scheduler lease holder: by the pid that starts the holder's name,
        else by its debug log, where the holder names itself at every tick."""
        if not holder:
            return None
        alive = [i for i in self.instances if i.alive()]
        by_pid = [i for i in alive if str(i.pid) == holder.split("-")[0]]
        return next(iter(by_pid), None) or next(
            (i for i in alive if f" on {holder}" in i.log_tail(10**7)), None
        )

    def close(self) -> None:
        for inst in self.instances:
            inst.stop()
        if self.sim:
            self.sim.stop()
        if self.own_pg:
            self.pg.stop()


@dataclass
class Kill:
    instance: int
    holder: str | None  # the scheduler lease it held when killed, if any
    at: float
    restarted_at: float | None = None


@dataclass
class Burst:
    """What one burst did and saw."""

    approval: ApprovalSystem
    pg_restart: tuple[float, float] | None = None
    kill: Kill | None = None
    drained_at: float | None = None
    statuses: Counter = field(default_factory=Counter)
    rows: list = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        """From the first submit to every dispatch booked."""
        return self.drained_at - self.approval.started if self.drained_at else None


async def run_burst(
    dep: Deployment,
    n: int,
    *,
    drain_limit_s: float,
    pace_per_s: float | None = None,
    pg_restart_after: float | None = None,
    kill_after: float | None = None,
    kill_on_booked: bool = False,
    restart_killed_after_s: float | None = None,
) -> Burst:
    """Submit `n` dispatches round-robin; restart PostgreSQL once `pg_restart_after` of them are accepted;
    kill -9 the scheduler lease's holder (or instance 1) once `kill_after` of them are accepted (or, with
    `kill_on_booked`, booked at the carrier), and start it again `restart_killed_after_s` later; then wait
    up to `drain_limit_s` after the last accepted submit for all of them to be booked."""
    approval = ApprovalSystem([i.base for i in dep.instances], n, f"{time.time_ns()}", pace_per_s=pace_per_s)
    burst = Burst(approval)
    submitting = asyncio.create_task(approval.run())

    async def reached(share: float, booked: bool) -> None:
        deadline = time.time() + 600
        while time.time() < deadline and (booked or not submitting.done()):
            done = len(await asyncio.to_thread(dep.sim.orders)) if booked else approval.accepted
            if done >= share * n:
                return
            await asyncio.sleep(0.25 if booked else 0.1)

    async def restart_pg() -> None:
        await reached(pg_restart_after, False)
        burst.pg_restart = await asyncio.to_thread(dep.pg.restart)

    async def kill() -> None:
        await reached(kill_after, kill_on_booked)
        if restarting is not None:
            await restarting  # one event at a time: their effects are told apart
        holder = await lease_holder(dep.db_url)
        victim = dep.instance_of(holder) or dep.instances[1]
        burst.kill = Kill(victim.index, holder if dep.instance_of(holder) else None, time.time())
        victim.kill9()
        if restart_killed_after_s is not None:
            await asyncio.sleep(restart_killed_after_s)
            await asyncio.to_thread(victim.start)
            await asyncio.to_thread(wait_until, victim.ready, 60, "the killed instance restarted")
            burst.kill.restarted_at = time.time()

    events = [submitting]
    restarting = asyncio.create_task(restart_pg()) if pg_restart_after is not None else None
    if restarting is not None:
        events.append(restarting)
    if kill_after is not None:
        events.append(asyncio.create_task(kill()))
    await asyncio.gather(*events)
    accepted = sum(1 for c in approval.cases if c.dispatch_id)
    burst.drained_at, burst.statuses = await wait_drained(dep.db_url, accepted, drain_limit_s)
    burst.rows = await dispatch_rows(dep.db_url)
    burst.orders = await asyncio.to_thread(dep.sim.orders)
    return burst
