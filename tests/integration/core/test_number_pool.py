"""The waybill number pool: while the carrier is unreachable (a real outage: its port refuses
connections) the hall still books with pre-allocated numbers; they are reported when it is back."""

import asyncio
import contextlib
import time

import pytest
from aiohttp import web
from sqlalchemy import select

from adapters import build_carrier
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY, start_sandbox
from logistics import bootstrap
from logistics.config import Settings
from logistics.service.resilience import GuardedCarrier
from logistics.storage.dispatch_repo import SqlDispatches
from logistics.storage.pool_repo import SqlWaybillPool
from logistics.storage.tables import waybill_pool
from logistics.web.keys import ENGINE, WORKERS
from tests.e2e.gateway import free_port
from tests.integration.core.test_booking_flow import SECRET, Stack


class Outage:
    """A TCP forwarder in front of the carrier that can be switched off and on."""

    def __init__(self, target_port: int):
        self.target_port, self.port, self.server = target_port, free_port(), None
        self.open: set = set()

    async def up(self):
        async def pipe(reader, writer):
            with contextlib.suppress(Exception):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        async def forward(reader, writer):
            self.open.add(writer)
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            except OSError:
                writer.close()
                return
            self.open.add(up_writer)
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        self.server = await asyncio.start_server(forward, "127.0.0.1", self.port)

    async def down(self):
        for writer in self.open:  # kept-alive connections die with the outage too
            writer.close()
        self.open.clear()
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def offline_stack(tmp_path):
    stack = Stack()
    stack.sim_runner, stack.sim = await start_sandbox()
    outage = Outage(int(stack.sim.rsplit(":", 1)[1]))
    await outage.up()
    carrier = build_carrier(
        "ems_soap", base_url=f"http://127.0.0.1:{outage.port}", sender_no=DEFAULT_SENDER_NO,
        sign_key=DEFAULT_SIGN_KEY, timeout_s=1.0,
    )  # fmt: skip
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/gw.db", clients={"approval": SECRET}, workers=4,
        pool_low_watermark=5, pool_batch=10, job_lease_s=10,
    )  # fmt: skip
    stack.app = bootstrap.app(settings, carrier=GuardedCarrier(carrier, concurrency=4))
    stack.runner = web.AppRunner(stack.app)
    await stack.runner.setup()
    await web.TCPSite(stack.runner, "127.0.0.1", 0).start()
    stack.base = f"http://127.0.0.1:{stack.runner.addresses[0][1]}"
    import aiohttp

    stack.http = aiohttp.ClientSession()
    yield stack, outage
    with contextlib.suppress(Exception):
        await outage.down()
    await stack.stop()


async def wait_until(predicate, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := await predicate():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


async def test_offline_booking_with_pool_numbers_then_reported(offline_stack):
    stack, outage = offline_stack
    engine = stack.app[ENGINE]

    async def pool_counts():
        async with engine.connect() as conn:
            return await SqlWaybillPool(conn).counts()

    filled = await wait_until(lambda: _at_least(pool_counts, 10))
    assert filled["free"] == 10  # refilled at start-up from the carrier (getBillNumBySys)
    await outage.down()
    ids = [(await stack.submit(f"OFF-{i}"))["id"] for i in range(3)]
    states = await stack.settle(ids, done=("booked",))
    async with engine.connect() as conn:
        assigned = select(waybill_pool.c.waybill_no).where(waybill_pool.c.state == "assigned")
        pool_numbers = set(await conn.scalars(assigned))
    assert {s["waybill_no"] for s in states} == pool_numbers
    assert (await stack.control("GET", "/orders"))["orders"] == []  # nothing reached the carrier
    await outage.up()
    stack.app[WORKERS].wake()

    async def reported():
        orders = (await stack.control("GET", "/orders"))["orders"]
        return len(orders) == 3 and orders

    orders = await wait_until(reported, 60)
    assert {o["waybill_no"] for o in orders} == pool_numbers
    assert {o["order_no"] for o in orders} == {s["order_no"] for s in states}
    async with engine.connect() as conn:
        trail = await SqlDispatches(conn).events(ids[0])
    assert [e.cause for e in trail][-1] == "offline booking reported to the carrier"


async def _at_least(counts, n):
    c = await counts()
    return c if c["free"] >= n else None
