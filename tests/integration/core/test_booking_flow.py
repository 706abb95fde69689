"""The booking pipeline against the EMS simulator over real sockets, through both adapters.

For every fault mode and operation, no dispatch is lost and none is booked twice: we count the
simulator's orders."""

import asyncio
import json
import time

import aiohttp
import pytest
from aiohttp import web

from adapters import build_carrier
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY, start_sandbox
from logistics import bootstrap
from logistics.config import Settings
from logistics.service.resilience import GuardedCarrier
from logistics.storage.unit_of_work import unit_of_work_factory
from tests.e2e.gateway import sign
from tests.fixtures.dispatches import intake_body

SECRET = "e2e-secret-0123456789"
KINDS = ("ems_open", "ems_soap")


class Stack:
    """Simulator + gateway, each on its own loopback socket, in this event loop."""

    async def start(self, tmp_path, kind: str, *, rate_per_s=None, timeout_s=0.5, lease_s=10, **sim_options):
        self.sim_runner, self.sim = await start_sandbox(fault_hold_s=2.0, **sim_options)
        carrier = build_carrier(
            kind,
            base_url=self.sim,
            sender_no=DEFAULT_SENDER_NO,
            sign_key=DEFAULT_SIGN_KEY,
            timeout_s=timeout_s,
        )
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path}/gw.db",
            clients={"approval": SECRET},
            workers=4,
            job_lease_s=lease_s,
        )
        self.carrier = guarded = GuardedCarrier(carrier, concurrency=4, rate_per_s=rate_per_s)
        self.app = bootstrap.app(settings, carrier=guarded)
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.http = aiohttp.ClientSession()
        return self

    async def stop(self):
        await self.http.close()
        await self.runner.cleanup()
        await self.sim_runner.cleanup()

    async def submit(self, case_no: str, **over) -> dict:
        body = json.dumps(intake_body(case_no, **over), ensure_ascii=False).encode()
        headers = sign(body, secret=SECRET)
        async with self.http.post(self.base + "/api/v1/dispatches", data=body, headers=headers) as r:
            assert r.status in (200, 201), await r.text()
            return await r.json()

    async def control(self, method, path, body=None):
        async with self.http.request(method, self.sim + "/_control" + path, json=body) as r:
            return await r.json(content_type=None)

    async def dispatch(self, dispatch_id: str) -> dict:
        from logistics.storage.dispatch_repo import SqlDispatches
        from logistics.web.keys import ENGINE

        async with self.app[ENGINE].connect() as conn:
            d = await SqlDispatches(conn).get(dispatch_id)
        return {
            "status": d.status.value,
            "waybill_no": d.waybill_no,
            "reason": d.reason,
            "order_no": d.order_no,
        }

    async def settle(self, ids, *, wait_s=40.0, done=("booked", "booking_failed")):
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            states = [await self.dispatch(i) for i in ids]
            if all(s["status"] in done for s in states):
                return states
            self.app_wake()
            await asyncio.sleep(0.2)
        raise AssertionError(f"not settled: {[s['status'] for s in states]}")

    def app_wake(self):
        from logistics.web.keys import WORKERS

        self.app[WORKERS].wake()


@pytest.fixture(params=KINDS)
async def stack(request, tmp_path):
    s = await Stack().start(tmp_path, request.param)
    yield s
    await s.stop()


async def test_books_outbound_and_inbound_once_each(stack):
    out = await stack.submit("BK-1")
    inbound = await stack.submit("BK-2", direction="inbound")
    pickup = await stack.submit("BK-3", delivery_method="pickup", address=None)
    states = await stack.settle([out["id"], inbound["id"]])
    assert [s["status"] for s in states] == ["booked", "booked"]
    orders = (await stack.control("GET", "/orders"))["orders"]
    by_order = {o["order_no"]: o for o in orders}
    assert len(orders) == 2
    assert by_order[states[0]["order_no"]]["order_type"] in (2, "2")
    assert by_order[states[1]["order_no"]]["order_type"] in (1, "1")
    assert by_order[states[0]["order_no"]]["waybill_no"] == states[0]["waybill_no"]
    assert (await stack.dispatch(pickup["id"]))["status"] == "awaiting_pickup"


async def test_business_error_ends_in_booking_failed_with_the_carrier_reason(stack):
    bad = await stack.submit("BK-4", address={**intake_body()["address"], "detail": "不可达村1号"})
    [state] = await stack.settle([bad["id"]])
    assert state["status"] == "booking_failed" and state["reason"]
    assert (await stack.control("GET", "/orders"))["orders"] == []


FAULTS = [
    ("create_order", "timeout"),
    ("create_order", "http_500"),
    ("create_order", "busy"),
    ("create_order", "malformed"),
    ("create_order", "commit_then_timeout"),
    ("*", "commit_then_timeout"),
    ("*", "http_500"),
    ("find_order", "timeout"),
]


@pytest.mark.parametrize(("operation", "mode"), FAULTS)
async def test_no_dispatch_lost_none_booked_twice_under_faults(stack, operation, mode):
    await stack.control("POST", "/faults", {"operation": operation, "mode": mode, "count": 3})
    ids = [(await stack.submit(f"F-{i}"))["id"] for i in range(6)]
    states = await stack.settle(ids, done=("booked",), wait_s=60)
    orders = (await stack.control("GET", "/orders"))["orders"]
    assert len(orders) == len(ids) == len({o["order_no"] for o in orders})
    assert {s["waybill_no"] for s in states} == {o["waybill_no"] for o in orders}


async def test_cancel_after_booking_cancels_at_the_carrier(stack):
    d = await stack.submit("BK-5")
    await stack.settle([d["id"]])
    token_user = "x"
    from logistics.service import dispatches as dispatch_service
    from logistics.web.keys import CLOCK, DEPS

    await dispatch_service.cancel(
        stack.app[DEPS].uow(), d["id"], actor=f"staff:{token_user}", now=stack.app[CLOCK].now()
    )
    stack.app_wake()
    [state] = await stack.settle([d["id"]], done=("cancelled",))
    [order] = (await stack.control("GET", "/orders"))["orders"]
    assert state["status"] == "cancelled" and order["status"] in ("cancelled", "CANCELLED", "canceled")


async def test_a_rejected_dispatch_is_corrected_by_staff_and_retried(stack):
    from logistics.domain.model import Address
    from logistics.service import dispatches as dispatch_service
    from logistics.web.keys import CLOCK, ENGINE

    bad = intake_body()["address"] | {"detail": "不可达村1号"}
    d = await stack.submit("BK-FIX", address=bad)
    [state] = await stack.settle([d["id"]])
    assert state["status"] == "booking_failed" and state["reason"]
    engine, now = stack.app[ENGINE], stack.app[CLOCK].now()
    good = Address(**(intake_body()["address"] | {"detail": "王屯村13号"}))
    await dispatch_service.correct(
        unit_of_work_factory(engine)(), d["id"], actor="staff:li", now=now, address=good
    )
    await dispatch_service.request_booking(unit_of_work_factory(engine)(), d["id"], actor="staff:li", now=now)
    stack.app_wake()
    [state] = await stack.settle([d["id"]], done=("booked",))
    assert state["reason"] == ""
    [order] = (await stack.control("GET", "/orders"))["orders"]
    assert order["waybill_no"] == state["waybill_no"]
    with pytest.raises(Exception, match="不能"):
        await dispatch_service.correct(
            unit_of_work_factory(engine)(), d["id"], actor="staff:li", now=now, address=good
        )


async def test_a_waybill_number_the_carrier_issued_twice_ends_in_booking_failed_and_is_cancelled(stack):
    """Issue 14: a waybill number colliding with a stored one used to dead-letter the job, leaving the
    dispatch in `booking` for good and the carrier's order orphaned."""
    from sqlalchemy import select, update

    from adapters.ems.s10 import make_waybill_no
    from adapters.sandbox.app import STATE
    from logistics.storage.tables import dispatches, jobs
    from logistics.web.keys import ENGINE

    holder = await stack.submit("DUP-0", delivery_method="pickup", address=None)
    for _ in range(100):  # the number pool's first refill (SOAP) has taken its numbers
        async with stack.app[ENGINE].connect() as conn:
            refills = set(await conn.scalars(select(jobs.c.state).where(jobs.c.kind == "pool_refill")))
        if refills <= {"done", "dead"}:
            break
        await asyncio.sleep(0.1)
    sim = stack.sim_runner.app[STATE]
    issued_next = make_waybill_no(sim._prefix, sim._next_serial, sim._suffix)  # the next number it issues
    async with stack.app[ENGINE].begin() as conn:  # as if a number from an earlier carrier account
        await conn.execute(
            update(dispatches).where(dispatches.c.id == holder["id"]).values(waybill_no=issued_next)
        )
    d = await stack.submit("DUP-1")
    [state] = await stack.settle([d["id"]], done=("booking_failed",), wait_s=30)
    assert issued_next in state["reason"] and "重复" in state["reason"] and "已撤销" in state["reason"]
    [order] = (await stack.control("GET", "/orders"))["orders"]
    assert order["waybill_no"] == issued_next
    assert order["status"] in ("cancelled", "CANCELLED", "canceled")  # no orphan order at the carrier
    assert (await stack.dispatch(holder["id"]))["waybill_no"] == issued_next  # the holder keeps its number
    async with stack.app[ENGINE].connect() as conn:
        states = set(await conn.scalars(select(jobs.c.state).where(jobs.c.kind == "book")))
    assert states == {"done"}  # nothing dead-lettered
