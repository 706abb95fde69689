"""What fuzzing /api/v1 from its OpenAPI document found (issue 16), each a 500 before its fix:
a NUL character in a path, query or JSON value on PostgreSQL (whose text cannot hold NUL), and a job
id past 64 bits on SQLite."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import PG_URL, _reset_postgres
from tests.e2e.gateway import Gateway

needs_postgres = pytest.mark.skipif(
    not PG_URL, reason="CERTPOST_TEST_PG_URL not set (.ci/run starts PostgreSQL)"
)

CASES = [
    ("GET", "/api/v1/dispatches/%00", None, 404),
    ("PATCH", "/api/v1/dispatches/%00", b'{"recipient": {"name": "a", "phone": "13807961234"}}', 404),
    ("POST", "/api/v1/dispatches/%00/book", None, 404),
    ("POST", "/api/v1/dispatches/%00/cancel", None, 404),
    ("GET", "/api/v1/dispatches/%00/label.pdf", None, 404),
    ("GET", "/api/v1/reconciliations/%00", None, 404),
    ("GET", "/api/v1/reconciliations/%00/report.pdf", None, 404),
    ("GET", "/api/v1/dispatches?q=a%00", None, 422),
    ("GET", "/api/v1/track?case_no=a%00&phone_last4=1234", None, 404),
    ("GET", "/api/v1/track?waybill_no=a%00&phone_last4=1234", None, 404),
    ("POST", "/api/v1/periods/2026-10/close", b'{"run_id": "a\\u0000"}', 422),
    ("POST", "/api/v1/labels", b'{"ids": ["a\\u0000"]}', 422),
    ("POST", "/api/v1/manifests", b'{"ids": ["a\\u0000"]}', 422),
    ("POST", "/api/v1/manifests/confirm", b'{"ids": ["a"], "courier": "b", "manifest_id": "c\\u0000"}', 422),
    ("POST", "/api/v1/reconciliations?period=2026-10&filename=a%00.csv", b"x", 422),
]


@pytest.mark.postgres
@needs_postgres
def test_nul_characters_are_refused_not_500(tmp_path):
    asyncio.run(_reset_postgres(PG_URL))
    gw = Gateway(tmp_path, CERTPOST_DATABASE_URL=PG_URL, CERTPOST_AUTO_BOOK="false").start()
    try:
        admin = {"Authorization": f"Bearer {gw.staff_token('nul-admin', 'admin')}"}
        answers = [(m, p, gw.request(m, p, body, admin)) for m, p, body, _ in CASES]
    finally:
        gw.stop()
    got = [(m, p, status) for m, p, (status, _) in answers]
    assert got == [(m, p, want) for m, p, _, want in CASES], got
    for _, _, (_status, body) in answers:
        assert isinstance(body, dict) and "error" in body


def test_a_job_id_past_64_bits_is_404(tmp_path):
    gw = Gateway(tmp_path, CERTPOST_AUTO_BOOK="false").start()
    try:
        admin = {"Authorization": f"Bearer {gw.staff_token('big-admin', 'admin')}"}
        status, body = gw.request("POST", "/api/v1/jobs/999999999999999999999999999999/retry", b"", admin)
    finally:
        gw.stop()
    assert status == 404 and "error" in body, (status, body)
