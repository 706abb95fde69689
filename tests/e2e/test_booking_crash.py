"""kill -9 of the gateway in the middle of a booking burst: after a restart every dispatch is booked
exactly once (the simulator runs in its own process and keeps counting)."""

import json
import subprocess
import time
import urllib.request

from tests.e2e.gateway import Gateway, carrier_env, free_port, sandbox_command
from tests.fixtures.dispatches import intake_body

BURST = 120


def sim_orders(base: str) -> list[dict]:
    with urllib.request.urlopen(base + "/_control/orders", timeout=10) as r:
        return json.load(r)["orders"]


def wait(predicate, seconds: float, what: str):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_mid_burst_books_each_dispatch_exactly_once(tmp_path):
    port = free_port()
    sim_base = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen(sandbox_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gw = Gateway(
        tmp_path,
        **carrier_env(sim_base),
        CERTPOST_CARRIER_RATE_PER_S="60",  # slow enough that the kill lands mid-burst
        CERTPOST_JOB_LEASE_S="3",
    )
    try:
        wait(lambda: _answers(sim_base), 20, "simulator")
        gw.start()
        ids = []
        for i in range(BURST):
            status, d = gw.submit(intake_body(f"CRASH-{i:03d}"))
            assert status == 201
            ids.append(d["id"])
        wait(lambda: len(sim_orders(sim_base)) >= 20, 30, "some bookings")
        gw.kill9()
        booked_before_restart = len(sim_orders(sim_base))
        assert booked_before_restart < BURST, "the kill must land in the middle of the burst"
        gw.start()
        token = gw.staff_token("ops", "admin")
        auth = {"Authorization": f"Bearer {token}"}

        def all_booked():
            _, listing = gw.request("GET", "/api/v1/dispatches?status=booked&limit=500", headers=auth)
            return listing["total"] == BURST and listing

        listing = wait(all_booked, 90, "every dispatch booked")
        orders = sim_orders(sim_base)
        assert len(orders) == BURST
        assert len({o["order_no"] for o in orders}) == BURST
        assert {o["waybill_no"] for o in orders} == {d["waybill_no"] for d in listing["dispatches"]}
    finally:
        gw.stop()
        sim.terminate()
        sim.wait(10)


def _answers(base: str) -> bool:
    try:
        sim_orders(base)
        return True
    except OSError:
        return False
