"""A real `certpost serve` process on a free loopback port, for end-to-end tests over sockets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CLIENT, SECRET = "approval", "e2e-secret-0123456789"
# A `certpost sandbox` standing in for a real carrier needs keys of its own: a gateway in a real carrier
# mode refuses the simulator's published ones.
SIM_SIGN_KEY = base64.b64encode(b"e2e-sim-key-0123").decode()  # a 16-byte SM4 key
SIM_SENDER_NO = "1100000000777"


def sandbox_command(port: int) -> list[str]:
    """`certpost sandbox` on `port` with the test's own keys."""
    keys = ["--sign-key", SIM_SIGN_KEY, "--sender-no", SIM_SENDER_NO]
    return [sys.executable, "-m", "logistics.cli", "sandbox", "--port", str(port), *keys]


def carrier_env(url: str, kind: str = "ems_open") -> dict[str, str]:
    """Gateway settings for the standalone simulator at `url`, as for a real carrier."""
    return {
        "CERTPOST_CARRIER": kind,
        "CERTPOST_CARRIER_URL": url,
        "CERTPOST_CARRIER_SENDER_NO": SIM_SENDER_NO,
        "CERTPOST_CARRIER_SIGN_KEY": SIM_SIGN_KEY,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    def __init__(self, workdir: Path, **env):
        self.dir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "CERTPOST_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/certpost.db",
            "CERTPOST_CLIENTS": json.dumps({CLIENT: SECRET}),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.proc: subprocess.Popen | None = None
        self._control_token: str | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "logistics.cli", *args]
        return subprocess.run(cmd, env=self.env, cwd=self.dir, capture_output=True, text=True, timeout=120)

    def start(self, timeout: float = 30) -> Gateway:
        cmd = [sys.executable, "-m", "logistics.cli", "serve", "--port", str(self.port)]
        with open(self.dir / "serve.log", "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                cmd, env=self.env, cwd=self.dir, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.dir / "serve.log").read_text()[-2000:])
            try:
                if self.request("GET", "/healthz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("gateway did not start")

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw or b"null")
        except ValueError:
            return status, raw

    def submit(self, payload, *, secret: str = SECRET, ts: int | None = None, client: str = CLIENT):
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        return self.request(
            "POST", "/api/v1/dispatches", body, sign(body, secret=secret, ts=ts, client=client)
        )

    def control(self, method: str, path: str, body: dict | None = None):
        """The in-process simulator's control API (`/sandbox/_control/…`), which takes an admin's token."""
        if self._control_token is None:
            self._control_token = self.staff_token("sandbox-control", "admin")
        headers = {"Authorization": f"Bearer {self._control_token}", "Content-Type": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        return self.request(method, "/sandbox/_control" + path, data, headers)

    def staff_token(self, name: str, role: str) -> str:
        result = self.cli("users", "add", name, "--role", role)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]


def sign(body: bytes, *, secret: str = SECRET, ts: int | None = None, client: str = CLIENT) -> dict:
    ts = int(time.time()) if ts is None else ts
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Client-Id": client,
        "X-Timestamp": str(ts),
        "X-Signature": sig,
        "Content-Type": "application/json",
    }
