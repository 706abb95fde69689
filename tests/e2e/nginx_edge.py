"""A real nginx running deploy/nginx.conf (the README's example) in front of `certpost serve` instances.

The file is used as it is, but for the ports of its `listen` and upstream `server` lines and the paths of
its certificate: each replaced text must appear exactly once, so an edit of the example that the test no
longer follows fails here instead of being silently left untested. A self-signed certificate is made for
the run. Clients connect over HTTPS from a loopback address of their choosing (127.0.0.2 by default), so
the citizen's address differs from nginx's own (127.0.0.1)."""

from __future__ import annotations

import datetime
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

from tests.e2e.gateway import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
EXAMPLE_UPSTREAMS = ("127.0.0.1:8081", "127.0.0.1:8082")
ACCESS_FORMAT = "$remote_addr $request_method $request_uri $status upstream=$upstream_addr:$upstream_status"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


def render(conf: str, *, https_port: int, http_port: int, upstreams: list[int], cert: Path, key: Path) -> str:
    """The example with the test's ports and certificate; nothing else changes."""
    replacements = [
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("/etc/nginx/tls/certpost.crt", str(cert)),
        ("/etc/nginx/tls/certpost.key", str(key)),
    ]
    replacements += [
        (f"server {example} ", f"server 127.0.0.1:{port} ")
        for example, port in zip(EXAMPLE_UPSTREAMS, upstreams, strict=True)
    ]
    for old, new in replacements:
        assert conf.count(old) == 1, f"deploy/nginx.conf no longer has {old!r} exactly once"
        conf = conf.replace(old, new)
    return conf


def self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "certpost.crt", directory / "certpost.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        import json

        return json.loads(self.body)


class Nginx:
    def __init__(self, directory: Path, upstreams: list[int]):
        self.dir = directory
        self.upstreams = upstreams
        self.https_port, self.http_port = free_port(), free_port()
        self.proc: subprocess.Popen | None = None
        self.sent = 0  # requests made through nginx (each is one access log line)
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE  # the run's own self-signed certificate

    @property
    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text() if path.exists() else ""

    def access_lines(self) -> list[str]:
        """The access log, once it has a line for every request sent (nginx writes it after answering)."""
        path = self.dir / "access.log"
        deadline = time.time() + 5
        while True:
            lines = path.read_text().splitlines() if path.exists() else []
            if len(lines) >= self.sent or time.time() > deadline:
                return lines
            time.sleep(0.05)

    def start(self) -> Nginx:
        binary = nginx_binary()
        assert binary, "nginx is not installed (.ci/run installs it)"
        cert, key = self_signed(self.dir)
        site = render(
            EXAMPLE.read_text(),
            https_port=self.https_port,
            http_port=self.http_port,
            upstreams=self.upstreams,
            cert=cert,
            key=key,
        )
        (self.dir / "certpost.conf").write_text(site)
        (self.dir / "nginx.conf").write_text(self._main_conf())
        args = [binary, "-p", f"{self.dir}/", "-c", str(self.dir / "nginx.conf")]
        checked = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            assert self.proc.poll() is None, self.error_log[-2000:]
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("nginx did not start")

    def _main_conf(self) -> str:
        d = self.dir
        user = "user root;\n" if os.geteuid() == 0 else ""  # its workers read the test's private files
        kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        temp = "\n".join(f"    {kind}_temp_path {d}/{kind};" for kind in kinds)
        return (
            f"{user}daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            f"    log_format upstreams '{ACCESS_FORMAT}';\n"
            f"    access_log {d}/access.log upstreams;\n"
            f"{temp}\n"
            f"    include {d}/certpost.conf;\n"
            "}\n"
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish open requests
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def request(
        self,
        method: str,
        path: str,
        body=None,
        headers: dict | None = None,
        *,
        source: str = "127.0.0.2",
        chunked: bool = False,
    ) -> Response:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.https_port, context=self._tls, source_address=(source, 0), timeout=60
        )
        self.sent += 1
        try:
            conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
            r = conn.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            conn.close()

    def plain_http(self, path: str) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        self.sent += 1
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return Response(r.status, r.headers, r.read())
        finally:
            conn.close()
