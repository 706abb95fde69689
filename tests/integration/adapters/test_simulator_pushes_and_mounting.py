"""The simulator's 040002 pushes reach a subscriber and decode with the adapter's push parser;
the simulator also works mounted at /sandbox inside another application."""

from __future__ import annotations

import asyncio

from aiohttp import web
from simulator_kit import shipment

from adapters import build_carrier
from adapters.ems.open.push import InvalidPush, parse_trace_push, push_answer
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY, create_sandbox_app
from logistics.domain.status import Status


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_pushes_are_retried_until_acknowledged_and_decode(start_simulator, make_gateway):
    received, answers = [], iter([False])  # the first push is refused: EMS must push it again
    all_scans = asyncio.Event()

    async def receiver(request: web.Request) -> web.Response:
        push = parse_trace_push(await request.read(), sign_key=DEFAULT_SIGN_KEY, sender_no=DEFAULT_SENDER_NO)
        ok = next(answers, True)
        if ok:
            received.extend(push.events)
            if len(received) == 7:
                all_scans.set()
        return web.json_response(push_answer(push.serial_no, DEFAULT_SENDER_NO, ok=ok))

    app = web.Application()
    app.router.add_post("/ems/push", receiver)
    runner, receiver_base = await _serve(app)
    try:
        simulator = await start_simulator(push_retry_delays_s=(0.05, 0.05))
        status, _ = await simulator.control("POST", "/subscribers", {"url": receiver_base + "/ems/push"})
        assert status == 201
        booking = await make_gateway("ems_open", simulator.base).book(shipment("RES-P"))

        await simulator.advance(booking.waybill_no, "delivered")
        await asyncio.wait_for(all_scans.wait(), 5)

        assert [e.raw_code for e in received] == ["203", "305", "954", "389", "306", "702", "704"]
        assert received[-1].status is Status.DELIVERED and received[-1].waybill_no == booking.waybill_no
        _, log = await simulator.control("GET", "/pushes")
        assert log["pushes"][0]["attempts"] == 2 and all(p["delivered"] for p in log["pushes"])
    finally:
        await runner.cleanup()


async def test_a_push_sealed_with_another_key_is_refused(start_simulator):
    pushes: list[bytes] = []

    async def receiver(request: web.Request) -> web.Response:
        pushes.append(await request.read())
        return web.json_response({"code": "00000"})

    app = web.Application()
    app.router.add_post("/push", receiver)
    runner, receiver_base = await _serve(app)
    try:
        simulator = await start_simulator(
            sign_key="b3RoZXIta2V5LTE2Ynl0ZQ==", subscribers=[receiver_base + "/push"]
        )
        other = build_carrier(
            "ems_open",
            base_url=simulator.base,
            sender_no=DEFAULT_SENDER_NO,
            sign_key="b3RoZXIta2V5LTE2Ynl0ZQ==",
            timeout_s=1,
        )
        booking = await other.book(shipment())
        await other.close()
        await simulator.advance(booking.waybill_no, "handed_over")
        for _ in range(50):
            if pushes:
                break
            await asyncio.sleep(0.05)
        try:
            parse_trace_push(pushes[0], sign_key=DEFAULT_SIGN_KEY, sender_no=DEFAULT_SENDER_NO)
        except InvalidPush:
            pass
        else:
            raise AssertionError("a push sealed with another key was accepted")
    finally:
        await runner.cleanup()


async def test_mounted_as_a_sub_application(make_gateway, http):
    gateway_app = web.Application()
    gateway_app.add_subapp("/sandbox", create_sandbox_app())
    runner, base = await _serve(gateway_app)
    try:
        for kind in ("ems_open", "ems_soap"):
            booking = await make_gateway(kind, base + "/sandbox").book(shipment(f"RES-{kind}"))
            assert booking.order_no == f"RES-{kind}"
        async with http.get(base + "/sandbox/_control/orders") as response:
            assert len((await response.json())["orders"]) == 2
        async with http.get(base + "/sandbox/soap?wsdl") as response:
            assert f"{base}/sandbox/soap" in await response.text()
    finally:
        await runner.cleanup()
