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
    dep = Deployment(
        tmp_path, size=3, rate=RATE, CERTPOST_LOG_LEVEL="DEBUG", CERTPOST_POLL_TICK_S="1"
    )  # the scheduler's ticks, logged at debug, every second
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
    failures, figures = check(burst, exited, ticks)
    print("\n".join(figures))
    assert not failures, "\n".join(failures + figures)


def check(burst: Burst, exited: dict[int, str], ticks) -> tuple[list[str], list[str]]:
    failures: list[str] = []
    figures: list[str] = []
    approval = burst.approval
    for index, log in exited.items():
        failures.append(
            f"instance {index} exited when the three started together on the empty database:\n{log}"
        )

    # The approval system's view: never a 500; 503s carry Retry-After; nothing refused.
    statuses = approval.statuses()
    figures.append(f"answers to the approval system (0 = connection error): {dict(sorted(statuses.items()))}")
    if statuses[500]:
        failures.append(f"{statuses[500]} answers were 500")
    no_retry_after = sum(
        1 for c in approval.cases for a in c.attempts if a.status == 503 and not a.retry_after
    )
    if no_retry_after:
        failures.append(f"{no_retry_after} answers were 503 without Retry-After")
    if burst.pg_restart:
        down, up = burst.pg_restart
        during = Counter(a.status for a in approval.attempts_between(down, up + 3))
        figures.append(
            f"PostgreSQL restart took {up - down:.1f} s; answers from then to 3 s after: {dict(during)}"
        )
    rejected = [f"{c.case_no}: {c.rejected}" for c in approval.cases if c.rejected]
    if rejected:
        failures.append(f"{len(rejected)} cases refused, e.g. {rejected[:3]}")

    # Every 201 has its row, and each case has exactly one.
    rows = {r["id"]: r for r in burst.rows}
    per_case = Counter(r["case_no"] for r in burst.rows)
    created = [c for c in approval.cases if c.accepted_status == 201]
    figures.append(f"{len(created)} answered 201, {sum(c.accepted_status == 200 for c in approval.cases)} 200 (a "
                   f"replay of a case accepted before); {len(rows)} dispatch rows")  # fmt: skip
    lost = [
        c.case_no for c in created if c.dispatch_id not in rows or rows[c.dispatch_id]["case_no"] != c.case_no
    ]
    if lost:
        failures.append(f"{len(lost)} answered 201 without their row, e.g. {lost[:3]}")
    twice = [case for case, k in per_case.items() if k > 1]
    if twice or len(per_case) != len(approval.cases):
        failures.append(
            f"{len(per_case)} cases have rows (expected {len(approval.cases)}); twice: {twice[:3]}"
        )

    # Booked exactly once: one carrier order per dispatch, under its order number, with its waybill.
    per_order = Counter(o["order_no"] for o in burst.orders)
    ours = {r["order_no"]: r for r in burst.rows}
    figures.append(f"carrier orders: {len(burst.orders)} ({len(per_order)} order numbers)")
    extra = set(per_order) - set(ours)
    unordered = [o for o, r in ours.items() if r["status"] in DONE and o not in per_order]
    if any(k > 1 for k in per_order.values()) or extra or unordered:
        failures.append(f"carrier orders do not match the dispatches one to one: {len(extra)} orders without a "
                        f"dispatch, {len(unordered)} booked dispatches without an order")  # fmt: skip
    wrong_waybill = [
        o for o in burst.orders
        if o["order_no"] in ours and ours[o["order_no"]]["status"] in DONE
        and o["waybill_no"] != ours[o["order_no"]]["waybill_no"]
    ]  # fmt: skip
    if wrong_waybill:
        failures.append(
            f"{len(wrong_waybill)} dispatches hold another waybill number than their carrier order"
        )

    # None stuck.
    if burst.drained_at is None:
        failures.append(f"not every dispatch booked within {DRAIN_LIMIT_S:g} s of the last accepted submit: "
                        f"{dict(burst.statuses)}")  # fmt: skip
    else:
        floor = DISPATCHES / RATE
        figures.append(f"all {DONE} {burst.seconds:.1f} s after the first submit (floor {floor:.1f} s, "
                       f"{burst.seconds / floor:.2f}x); submits took {approval.finished - approval.started:.1f} s")  # fmt: skip

    # Periodic work on one instance at a time, taken over within TAKEOVER_LIMIT_S of its holder's kill.
    runs = leadership_runs(ticks)
    figures.append(f"scheduler ticks: {len(ticks)}, by holder in turn: "
                   + ", ".join(f"{h} {b - burst.approval.started:+.1f}..{e - burst.approval.started:+.1f} s" for h, b, e in runs))  # fmt: skip
    holders = [h for h, _, _ in runs]
    if not ticks:
        failures.append(
            "no scheduled tick ran (CERTPOST_LOG_LEVEL=DEBUG logs `scheduled <name> on <holder>`)"
        )
    if len(holders) != len(set(holders)):
        failures.append(f"periodic work interleaved between instances: {holders}")
    kill = burst.kill
    if kill is None or kill.holder is None:
        failures.append("no instance held the scheduler lease when one was killed")
    else:
        after = [t for t, holder, _ in ticks if t > kill.at and holder != kill.holder]
        takeover = (after[0] - kill.at) if after else None
        figures.append(f"kill -9 at {kill.at - approval.started:+.1f} s, started again at "
                       f"{(kill.restarted_at or kill.at) - approval.started:+.1f} s")  # fmt: skip
        figures.append(f"killed instance {kill.instance} (lease holder {kill.holder}); periodic work resumed "
                       + (f"{takeover:.1f} s later" if takeover is not None else "never"))  # fmt: skip
        if takeover is None or takeover > TAKEOVER_LIMIT_S:
            failures.append(f"scheduler lease not taken over within {TAKEOVER_LIMIT_S:g} s of its holder's kill "
                            f"({'never' if takeover is None else f'{takeover:.1f} s'})")  # fmt: skip
    return failures, figures
