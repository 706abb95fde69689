"""Shared pieces of the console's browser tests: a gateway with staff who have passwords, signing in,
and a screenshot of every page into `screenshots/` at the project root (git-ignored)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.gateway import Gateway

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PASSWORD = "hall-desk-2026"
browser_only = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium not installed at /usr/bin/chromium"),
]


def add_user(gw: Gateway, name: str, role: str, password: str = PASSWORD) -> str:
    """Create a staff user with a console password through the CLI; its API token."""
    cmd = [sys.executable, "-m", "logistics.cli", "users", "add", name, "--role", role, "--password-stdin"]
    result = subprocess.run(
        cmd, input=password + "\n", env=gw.env, cwd=gw.dir, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


async def launch(playwright):
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


async def new_page(browser, gw: Gateway):
    context = await browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = await context.new_page()
    page.external = []
    page.on("request", lambda r: page.external.append(r.url) if not r.url.startswith(gw.base) else None)
    page.on("dialog", lambda d: d.accept())
    return page


async def sign_in(page, gw: Gateway, name: str, password: str = PASSWORD) -> None:
    await page.goto(f"{gw.base}/console/login")
    await page.fill("#name", name)
    await page.fill("#password", password)
    await page.click("#login")
    await page.wait_for_load_state()


async def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def wait_for(check, timeout: float = 60.0, step: float = 0.2):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.time() < deadline, "timed out"
        time.sleep(step)


def dispatch(gw: Gateway, token: str, dispatch_id: str) -> dict:
    status, d = gw.request(
        "GET", f"/api/v1/dispatches/{dispatch_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200, d
    return d


def magic(path) -> bytes:
    with open(path, "rb") as f:
        return f.read(4)
