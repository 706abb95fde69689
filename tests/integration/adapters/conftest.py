"""The EMS simulator on a loopback socket, and both carrier adapters pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web
from simulator_kit import ADAPTER_TIMEOUT_S, KINDS, Simulator

from adapters import build_carrier
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY, start_sandbox
from logistics.ports import CarrierGateway


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def start_simulator(http) -> AsyncIterator[Callable]:
    runners: list[web.AppRunner] = []

    async def start(**options) -> Simulator:
        runner, base = await start_sandbox(**options)
        runners.append(runner)
        return Simulator(base, http)

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def simulator(start_simulator) -> Simulator:
    return await start_simulator()


@pytest.fixture
async def make_gateway() -> AsyncIterator[Callable[..., CarrierGateway]]:
    gateways: list[CarrierGateway] = []

    def make(kind: str, base: str, **overrides) -> CarrierGateway:
        options = {
            "sender_no": DEFAULT_SENDER_NO,
            "sign_key": DEFAULT_SIGN_KEY,
            "timeout_s": ADAPTER_TIMEOUT_S,
        }
        gateway = build_carrier(kind, base_url=base, **{**options, **overrides})
        gateways.append(gateway)
        return gateway

    yield make
    for gateway in gateways:
        await gateway.close()


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def gateway(kind, simulator, make_gateway) -> CarrierGateway:
    return make_gateway(kind, simulator.base)
