"""Three `certpost serve` instances on one PostgreSQL, started at the same moment on an empty database, each
told the carrier's whole rate R, book 3,000 dispatches submitted round-robin through a kill -9 of the
scheduler lease's holder (started again 2 s later) and a `pg_ctl restart -m fast`, both mid-burst.

R = 100 requests/s at the simulator keeps the run short (floor 3000/R = 30 s; about a minute and a half
when all is well). Stated limits: every dispatch booked within DRAIN_LIMIT_S of the last accepted submit,
and periodic work resumed on another instance within TAKEOVER_LIMIT_S of its holder's kill (default
settings: 30 s scheduler lease, 60 s job lease)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter

import pytest

from tests.scaleout.harness import (
    DONE,
    Burst,
    Deployment,
    leadership_runs,
    run_burst,
    scheduler_ticks,
    start_together,
    why_no_postgres,
)

DISPATCHES = int(os.environ.get("CERTPOST_SCALEOUT_DISPATCHES", "3000"))
RATE = float(os.environ.get("CERTPOST_SCALEOUT_RATE", "100"))
DRAIN_LIMIT_S = 45.0
TAKEOVER_LIMIT_S = 15.0
RESTART_KILLED_AFTER_S = 2.0

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(420),
    pytest.mark.skipif(bool(why_no_postgres()), reason=str(why_no_postgres())),
]


def test_three_instances_book_every_dispatch_exactly_once_through_a_kill_and_a_database_restart(tmp_path):
    # The scheduler ticks every second and logs each tick's holder at debug.
    dep = Deployment(tmp_path, size=3, rate=RATE, CERTPOST_LOG_LEVEL="DEBUG", CERTPOST_POLL_TICK_S="1")
    try:
        exited = start_together(dep.instances)
        burst = asyncio.run(
            run_burst(
                dep,
                DISPATCHES,
                drain_limit_s=DRAIN_LIMIT_S,
                pace_per_s=1.5 * RATE,  # the submits last most of the booking, so both events land mid-burst
                pg_restart_after=0.2,
                kill_after=0.45,
                restart_killed_after_s=RESTART_KILLED_AFTER_S,
            )
        )
        ticks = scheduler_ticks(dep.instances)
    finally:
        dep.close()
    report = Report()
    for index, tail in exited.items():
        report.fail(f"instance {index} exited when the three started together on the empty database:\n{tail}")
    check_answers(report, burst)
    check_rows(report, burst)
    check_carrier_orders(report, burst)
    check_drained(report, burst)
    check_scheduler(report, burst, ticks)
    print("\n".join(report.figures))
    assert not report.failures, "\n".join([*report.failures, "", *report.figures])


class Report:
    def __init__(self):
        self.failures: list[str] = []
        self.figures: list[str] = []

    def fail(self, text: str) -> None:
        self.failures.append(text)

    def note(self, text: str) -> None:
        self.figures.append(text)


def check_answers(report: Report, burst: Burst) -> None:
    """The approval system's view: never a 500, every 503 with Retry-After, no case refused."""
    approval = burst.approval
    statuses = approval.statuses()
    report.note(f"answers to the approval system (0: connection error): {dict(sorted(statuses.items()))}")
    if statuses[500]:
        report.fail(f"{statuses[500]} answers were 500")
    attempts = [a for c in approval.cases for a in c.attempts]
    if bare := sum(1 for a in attempts if a.status == 503 and not a.retry_after):
        report.fail(f"{bare} answers were 503 without Retry-After")
    if burst.pg_restart:
        down, up = burst.pg_restart
        during = Counter(a.status for a in approval.attempts_between(down, up + 3))
        if not during:
            report.fail("PostgreSQL restarted when no submit was in flight: the check above saw nothing")
        start = down - approval.started
        report.note(
            f"pg_ctl restart at {start:+.1f} s took {up - down:.1f} s; answers till 3 s on: {dict(during)}"
        )
    if refused := [f"{c.case_no}: {c.rejected}" for c in approval.cases if c.rejected]:
        report.fail(f"{len(refused)} cases refused, e.g. {refused[:3]}")


def check_rows(report: Report, burst: Burst) -> None:
    """Every 201 has its row, and every case exactly one."""
    cases = burst.approval.cases
    rows = {r["id"]: r for r in burst.rows}
    created = [c for c in cases if c.accepted_status == 201]
    replays = sum(c.accepted_status == 200 for c in cases)
    report.note(f"{len(created)} cases answered 201, {replays} 200 (replay); {len(rows)} dispatch rows")
    lost = [
        c.case_no for c in created if c.dispatch_id not in rows or rows[c.dispatch_id]["case_no"] != c.case_no
    ]
    if lost:
        report.fail(f"{len(lost)} cases answered 201 have no row, e.g. {lost[:3]}")
    per_case = Counter(r["case_no"] for r in burst.rows)
    if twice := [case for case, k in per_case.items() if k > 1]:
        report.fail(f"{len(twice)} cases have more than one row, e.g. {twice[:3]}")


def check_carrier_orders(report: Report, burst: Burst) -> None:
    """Booked exactly once: one carrier order per dispatch, under its order number, with its waybill."""
    per_order = Counter(o["order_no"] for o in burst.orders)
    ours = {r["order_no"]: r for r in burst.rows}
    booked = {o: r for o, r in ours.items() if r["status"] in DONE}
    report.note(f"carrier orders: {len(burst.orders)} under {len(per_order)} order numbers")
    if repeated := [o for o, k in per_order.items() if k > 1]:
        report.fail(f"{len(repeated)} order numbers have more than one carrier order")
    if strays := set(per_order) - set(ours):
        report.fail(f"{len(strays)} carrier orders belong to no dispatch")
    if unordered := set(booked) - set(per_order):
        report.fail(f"{len(unordered)} booked dispatches have no carrier order")
    by_order = {o["order_no"]: o["waybill_no"] for o in burst.orders}
    if other := [o for o, r in booked.items() if o in by_order and by_order[o] != r["waybill_no"]]:
        report.fail(f"{len(other)} booked dispatches hold another waybill number than their carrier order")


def check_drained(report: Report, burst: Burst) -> None:
    """None stuck: every dispatch booked within the drain limit."""
    approval = burst.approval
    if burst.seconds is None:
        report.fail(
            f"not every dispatch booked {DRAIN_LIMIT_S:g} s after the last submit: {dict(burst.statuses)}"
        )
        return
    floor = DISPATCHES / RATE
    report.note(
        f"all booked {burst.seconds:.1f} s after the first submit (floor {floor:.1f} s: "
        f"{burst.seconds / floor:.2f}x); the submits took {approval.finished - approval.started:.1f} s"
    )


def check_scheduler(report: Report, burst: Burst, ticks) -> None:
    """Periodic work on one instance at a time, taken over within TAKEOVER_LIMIT_S of its holder's kill."""
    t0 = burst.approval.started
    runs = leadership_runs(ticks)
    turns = ", ".join(f"{holder} {first - t0:+.1f}..{last - t0:+.1f} s" for holder, first, last in runs)
    report.note(f"scheduler ticks: {len(ticks)}; by holder in turn: {turns}")
    if not ticks:
        report.fail("no scheduled tick ran (at debug the scheduler logs `scheduled <name> on <holder>`)")
    holders = [holder for holder, _, _ in runs]
    if len(holders) != len(set(holders)):
        report.fail(f"periodic work went back and forth between instances: {holders}")
    kill = burst.kill
    if kill is None or kill.holder is None:
        report.fail("no instance held the scheduler lease when one was killed")
        return
    after = [at for at, holder, _ in ticks if at > kill.at and holder != kill.holder]
    takeover = after[0] - kill.at if after else None
    again = (kill.restarted_at or kill.at) - t0
    resumed = f"{takeover:.1f} s later" if takeover is not None else "never"
    report.note(
        f"kill -9 of instance {kill.instance} (lease holder {kill.holder}) at {kill.at - t0:+.1f} s, "
        f"started again at {again:+.1f} s; periodic work resumed elsewhere {resumed}"
    )
    if takeover is None or takeover > TAKEOVER_LIMIT_S:
        report.fail(
            f"scheduler lease not taken over within {TAKEOVER_LIMIT_S:g} s of its holder's kill: {resumed}"
        )
