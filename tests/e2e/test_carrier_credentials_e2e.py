"""`certpost serve` in a real carrier mode refuses to start without credentials of its own; the simulator
has one published default key, the same alone (`certpost sandbox`) and inside `certpost serve`."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from adapters import build_carrier
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY
from logistics import bootstrap
from logistics.config import Settings
from logistics.web.keys import SETTINGS
from tests.e2e.gateway import Gateway, free_port
from tests.integration.adapters.simulator_kit import shipment


def serve_exit(tmp_path, **env) -> subprocess.CompletedProcess:
    gw = Gateway(tmp_path, **env)
    cmd = [sys.executable, "-m", "logistics.cli", "serve", "--port", str(gw.port)]
    return subprocess.run(cmd, env=gw.env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("kind", ["ems_open", "ems_soap"])
def test_a_real_carrier_without_a_key_refuses_to_start(tmp_path, kind):
    done = serve_exit(tmp_path, CERTPOST_CARRIER=kind, CERTPOST_CARRIER_URL="https://ems.example")
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("certpost: ") and "CERTPOST_CARRIER_SENDER_NO、CERTPOST_CARRIER_SIGN_KEY" in line


def test_a_real_carrier_on_the_simulators_published_key_refuses_to_start(tmp_path):
    done = serve_exit(
        tmp_path,
        CERTPOST_CARRIER="ems_open",
        CERTPOST_CARRIER_URL="https://ems.example",
        CERTPOST_CARRIER_SENDER_NO="1100099990001",
        CERTPOST_CARRIER_SIGN_KEY=DEFAULT_SIGN_KEY,
    )
    assert done.returncode == 2
    assert "CERTPOST_CARRIER_SIGN_KEY 是模拟器公开的密钥" in done.stderr and "Traceback" not in done.stderr


def test_the_in_process_simulator_uses_the_one_published_default(tmp_path):
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/gw.db")
    app = bootstrap.gateway(settings, self_url="http://127.0.0.1:1")
    assert app[SETTINGS].carrier_sign_key is DEFAULT_SIGN_KEY
    assert app[SETTINGS].carrier_sender_no is DEFAULT_SENDER_NO


def test_certpost_sandbox_alone_speaks_the_same_default_key():
    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "logistics.cli", "sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        async def book() -> str:
            carrier = build_carrier(
                "ems_open",
                base_url=f"http://127.0.0.1:{port}",
                sender_no=DEFAULT_SENDER_NO,
                sign_key=DEFAULT_SIGN_KEY,
                timeout_s=5,
            )
            try:
                for _ in range(100):
                    try:
                        return (await carrier.book(shipment("KEYS-1"))).waybill_no
                    except Exception:  # not listening yet
                        await asyncio.sleep(0.1)
                raise AssertionError("the simulator did not book with the default key")
            finally:
                await carrier.close()

        assert len(asyncio.run(book())) == 13
    finally:
        sim.terminate()
        sim.wait(10)


def test_certpost_sandbox_refuses_a_sign_key_that_is_no_sm4_key():
    cmd = [sys.executable, "-m", "logistics.cli", "sandbox", "--port", str(free_port()), "--sign-key", "abc"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--sign-key" in done.stderr
