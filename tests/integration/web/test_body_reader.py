"""The body reader (adapters.common.bodies) on a real aiohttp server over loopback sockets: whatever the
TCP segments or chunks, a handler gets the exact body, or 413 past the limit (CONTRACT "Request bodies")."""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from urllib.parse import urlencode

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.common.bodies import read_body, read_form
from tests.e2e.gateway import free_port
from tests.fixtures.raw_http import CHUNKS, SEGMENTS, WAYS, connect, head, send, send_pieces, send_unfinished

REFUSALS = web.AppKey("refusals", list)
LIMIT = 200_000  # over aiohttp's 64 KiB stream buffer, so a body is several reads
FORM_LIMIT = 300_000


async def _body(request: web.Request) -> web.Response:
    try:
        body = await read_body(request, LIMIT)
    except Exception as e:
        request.app[REFUSALS].append(e)
        raise
    return web.json_response({"length": len(body), "sha256": hashlib.sha256(body).hexdigest()})


async def _form(request: web.Request) -> web.Response:
    form = await read_form(request, FORM_LIMIT)
    upload = form.get("file")
    content = b""
    if hasattr(upload, "file"):
        with upload.file:
            content = upload.file.read()
    return web.json_response(
        {"text": form.get("text"), "file_sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    )


async def _first_read(request: web.Request) -> web.Response:
    return web.json_response({"length": len(await request.content.read(LIMIT + 1))})


class Server:
    """An aiohttp app on a free loopback port, its loop in a thread of its own."""

    def __init__(self, app: web.Application):
        self.app, self.port = app, free_port()
        self._ready, self._loop, self._stop = threading.Event(), None, None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        runner = web.AppRunner(self.app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def __enter__(self) -> Server:
        self._thread.start()
        assert self._ready.wait(10), "server did not start"
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture(scope="module")
def app():
    return web.Application()


@pytest.fixture(scope="module")
def port(app):
    app[REFUSALS] = []
    app.router.add_post("/body", _body)
    app.router.add_post("/form", _form)
    app.router.add_post("/first-read", _first_read)
    with Server(app) as server:
        yield server.port


def _bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


sizes = st.one_of(
    st.integers(0, 2_000),
    st.integers(0, LIMIT),
    st.sampled_from([LIMIT - 1, LIMIT, LIMIT + 1, LIMIT + 65_536, 3 * LIMIT]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=sizes,
    seed=st.integers(0, 2**32),
    way=st.sampled_from(WAYS),
    fractions=st.lists(st.floats(0, 1), max_size=6),
)
def test_the_handler_gets_the_exact_body_or_413(port, size, seed, way, fractions):
    body = _bytes(seed, size)
    reply = send(port, "POST", "/body", body, way=way, points=[int(f * size) for f in fractions], pause=0.003)
    if size > LIMIT:
        assert reply.status == 413
    else:
        assert reply.status == 200, reply.body
        assert reply.json() == {"length": size, "sha256": hashlib.sha256(body).hexdigest()}


@pytest.mark.parametrize("way", WAYS)
def test_over_the_limit_is_413_before_the_body_is_sent(port, way):
    """Chunks past the limit, the rest never sent: 413 all the same; a Content-Length past it: 413 at once."""
    sent = _bytes(1, LIMIT + 1)
    declared = None if way == CHUNKS else 10 * LIMIT
    reply = send_unfinished(port, "POST", "/body", sent if way == CHUNKS else b"", way=way, declared=declared)
    assert reply.status == 413


def _multipart(text: str, content: bytes) -> tuple[bytes, str]:
    boundary = "certpost-body-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n{text}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.one_of(st.integers(0, 5_000), st.sampled_from([FORM_LIMIT - 200, FORM_LIMIT + 1])),
    seed=st.integers(0, 2**32),
    way=st.sampled_from(WAYS),
    multipart=st.booleans(),
    fractions=st.lists(st.floats(0, 1), max_size=6),
)
def test_a_form_is_read_whole_or_refused(port, size, seed, way, multipart, fractions):
    content = _bytes(seed, size)
    text = "账期 2026-11 " + content[:50].hex()
    if multipart:
        body, kind = _multipart(text, content)
    else:
        body, kind = (
            urlencode({"text": text, "pad": content.hex()[:size]}).encode(),
            "application/x-www-form-urlencoded",
        )
    points = [int(f * len(body)) for f in fractions]
    reply = send(port, "POST", "/form", body, {"Content-Type": kind}, way=way, points=points, pause=0.003)
    if len(body) > FORM_LIMIT:
        assert reply.status == 413
        return
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert answer["text"] == text
    if multipart:
        assert (answer["size"], answer["file_sha256"]) == (size, hashlib.sha256(content).hexdigest())


def test_the_harness_splits_bodies_as_networks_do(port):
    """What has arrived at the first read is part of the body: a reader that takes it (as
    `request.content.read(n)` does) would fail the tests above."""
    body = _bytes(7, 50_000)
    for way in (SEGMENTS, CHUNKS):
        reply = send(port, "POST", "/first-read", body, way=way, pieces=5, pause=0.05)
        assert reply.status == 200 and 0 < reply.json()["length"] < len(body)


@pytest.mark.parametrize("way", WAYS)
def test_a_body_the_client_abandons_is_never_taken_for_the_whole(app, port, way):
    """The connection closes halfway through the body: the handler gets a 400, not a shorter body (nor
    an error that would be logged with a traceback)."""
    app[REFUSALS].clear()
    with connect(port) as sock:
        sock.sendall(head("POST", "/body", {}, length=1_000, chunked=way == CHUNKS))
        send_pieces(sock, [b"x" * 300, b"y" * 200], chunked=way == CHUNKS, pause=0.02, finish=False)
    deadline = time.time() + 10
    while not app[REFUSALS] and time.time() < deadline:
        time.sleep(0.05)
    [refusal] = app[REFUSALS]
    assert isinstance(refusal, web.HTTPBadRequest)


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("multipart/form-data; boundary=x", b"no boundary here"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--\r\n"),
        ("application/x-www-form-urlencoded", b"text=\xff\xfe"),
    ],
)
def test_a_form_that_does_not_parse_is_400(port, kind, body):
    assert send(port, "POST", "/form", body, {"Content-Type": kind}).status == 400
