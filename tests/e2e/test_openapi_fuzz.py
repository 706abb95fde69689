"""The whole `/api/v1` fuzzed from its own OpenAPI document against a real `certpost serve` (schemathesis):
a bounded number of generated requests per operation, valid and invalid, signed for the machine client
and with an admin's Bearer token for staff operations; no 5xx and every answer as documented (status,
content type, body schema)."""

from __future__ import annotations

import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from logistics.domain.signing import sign_headers
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


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    gw = Gateway(tmp_path_factory.mktemp("fuzz")).start()
    admin = gw.staff_token("fuzz-admin", "admin")
    # a few real dispatches, so ids drawn from them reach past the 404 (see the path-parameter hook)
    ids = [gw.submit(intake_body(f"FUZZ-{n}"))[1]["id"] for n in range(3)]
    yield gw, admin, ids
    gw.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    gw, _, ids = fuzzed
    schema = schemathesis.openapi.from_url(f"{gw.base}/openapi.json")
    schema.config.update(base_url=gw.base)
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
    gw, admin, _ = fuzzed
    security = case.operation.definition.raw.get("security", [])
    schemes = {name for requirement in security for name in requirement}
    kwargs: dict = {}
    if "staffBearer" in schemes:
        kwargs["headers"] = {"Authorization": f"Bearer {admin}"}
    elif "signedClient" in schemes:
        kwargs["session"] = session = requests.Session()
        session.auth = Signed()
    response = case.call(**kwargs)
    CALLS.append((case.method, case.operation.path, response.status_code))
    case.validate_response(response, checks=CHECKS)
