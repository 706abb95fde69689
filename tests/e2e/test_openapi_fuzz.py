"""The whole `/api/v1` fuzzed from its own OpenAPI document against a real `certpost serve` (schemathesis):
a bounded number of generated requests per operation, valid and invalid, signed for the machine client
and with an admin's Bearer token for staff operations; no 5xx and every answer as documented (status,
content type, body schema)."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from logistics.domain.signing import sign_headers
from tests.conftest import PG_URL, _reset_postgres
from tests.e2e.gateway import CLIENT, SECRET, Gateway
from tests.fixtures.dispatches import intake_body

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLS: list[tuple[str, str, int]] = []  # (method, path, status) of every generated request


class Signed(requests.auth.AuthBase):
    """Signs the request as the approval system does, over the exact bytes that will be sent."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        body = body.encode() if isinstance(body, str) else body
        r.headers.update(sign_headers(CLIENT, SECRET, body, int(time.time())))
        return r


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres, pytest.mark.skipif(
        not PG_URL, reason="CERTPOST_TEST_PG_URL not set (.ci/run starts PostgreSQL)")]),
]  # fmt: skip


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(request, tmp_path_factory):
    env = {}
    CALLS.clear()
    if request.param == "postgres":  # its text refuses NUL characters that SQLite stores
        asyncio.run(_reset_postgres(PG_URL))
        env["CERTPOST_DATABASE_URL"] = PG_URL
    gw = Gateway(tmp_path_factory.mktemp("fuzz"), **env).start()
    admin = gw.staff_token("fuzz-admin", "admin")
    # a few real dispatches, so ids drawn from them reach past the 404 (see the path-parameter hook)
    ids = [gw.submit(intake_body(f"FUZZ-{n}"))[1]["id"] for n in range(5)]
    deadline = time.time() + 60
    for i in ids:  # booked, so labels and manifests can print them
        while not gw.request("GET", f"/api/v1/dispatches/{i}", headers={"Authorization": f"Bearer {admin}"})[
            1
        ]["waybill_no"]:
            assert time.time() < deadline
            time.sleep(0.1)
    yield gw, admin, ids
    gw.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    gw, _, ids = fuzzed
    singles, batch = ids[:3], ids[3:]  # a batch the path operations (cancel …) never touch
    schema = schemathesis.openapi.from_url(f"{gw.base}/openapi.json")
    schema.config.update(base_url=gw.base)

    @schema.hook("flatmap_path_parameters")
    def real_dispatch_ids(context, path_parameters):
        """Now and then a real dispatch's id, so its operations get past the 404."""
        if (
            not path_parameters
            or "id" not in path_parameters
            or not context.operation.path.startswith("/api/v1/dispatches/")
        ):
            return st.just(path_parameters)
        return st.sampled_from([path_parameters, *({**path_parameters, "id": i} for i in singles)])

    @schema.hook("flatmap_body")
    def real_batch_ids(context, body):
        """Now and then real dispatch ids in a label, manifest or handover batch (else all are 422)."""
        if not isinstance(body, dict) or not isinstance(body.get("ids"), list):
            return st.just(body)
        return st.sampled_from([body, {**body, "ids": batch[:1]}, {**body, "ids": batch}])

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
def test_every_operation_answers_as_documented(case, fuzzed):
    admin = fuzzed[1]
    security = case.operation.definition.raw.get("security", [])
    schemes = {name for requirement in security for name in requirement}
    kwargs: dict = {}
    if schemes == {"staffBearer", "signedClient"}:  # either: every other request as the owning client
        schemes = {"signedClient"} if len(CALLS) % 2 else {"staffBearer"}
    if "staffBearer" in schemes:
        kwargs["headers"] = {"Authorization": f"Bearer {admin}"}
    elif "signedClient" in schemes:
        kwargs["session"] = session = requests.Session()
        session.auth = Signed()
    response = case.call(**kwargs)
    CALLS.append((case.method, case.operation.path, response.status_code))
    case.validate_response(response, checks=CHECKS)


def test_the_fuzz_reached_every_operation_past_its_guards(fuzzed):
    """Runs after the fuzz: every operation was called, and most answered something other than 401/403."""
    if not CALLS:
        pytest.skip("the fuzz did not run in this session")
    gw, _, _ = fuzzed
    operations = {
        (m.upper(), p) for p, item in gw.request("GET", "/openapi.json")[1]["paths"].items() for m in item
    }
    by_operation: dict[tuple[str, str], list[int]] = {}
    for method, path, status in CALLS:
        if (method, path) not in operations:  # schemathesis also tries undocumented methods (405)
            continue
        by_operation.setdefault((method, path), []).append(status)
    summary = {f"{m} {p}": sorted(set(s)) for (m, p), s in sorted(by_operation.items())}
    print(f"\nfuzzed {len(by_operation)} operations with {len(CALLS)} requests:")
    for name, statuses in summary.items():
        print(f"  {name}: {len(by_operation[tuple(name.split(' ', 1))])} requests, statuses {statuses}")
    assert set(by_operation) == operations
    assert all(any(s not in (401, 403) for s in statuses) for statuses in by_operation.values()), summary
