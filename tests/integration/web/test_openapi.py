"""The OpenAPI document is built from the running router: every /api/v1 route is in it with its own
declaration, it validates as OpenAPI 3.1, and the real answers of the served app match its models."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from openapi_spec_validator import validate

from logistics import bootstrap
from logistics.config import Settings
from logistics.web import openapi
from logistics.web.api.responses import Error, InvalidError
from tests.e2e.gateway import free_port


def gateway(tmp_path) -> web.Application:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db", clients={"approval": "s"})
    return bootstrap.app(settings, run_workers=False)


def api_routes(app: web.Application) -> set[tuple[str, str]]:
    return {
        (r.method.lower(), r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.resource.canonical.startswith("/api/v1") and r.method != "HEAD"
    }


def test_every_api_route_is_documented_by_its_own_declaration(tmp_path):
    app = gateway(tmp_path)
    doc = openapi.build(app)
    documented = {(m, p) for p, item in doc["paths"].items() for m in item}
    assert api_routes(app) == documented and len(documented) >= 21
    undeclared = [
        (m, p) for p, item in doc["paths"].items() for m, op in item.items() if openapi.UNDOCUMENTED in op
    ]
    assert undeclared == []
    # two models sharing a class name come out as module paths (logistics__web__api__…__AddressIn)
    assert [name for name in doc["components"]["schemas"] if "__" in name] == []
    validate(doc)  # OpenAPI 3.1 (openapi-spec-validator)


def test_a_route_added_without_a_declaration_is_caught(tmp_path):
    app = gateway(tmp_path)

    async def hidden(request):
        return web.json_response({})

    app.router.add_post("/api/v1/hidden", hidden)
    doc = openapi.build(app)
    assert openapi.UNDOCUMENTED in doc["paths"]["/api/v1/hidden"]["post"]


def test_errors_security_and_callbacks_are_described(tmp_path):
    doc = openapi.build(gateway(tmp_path))
    intake = doc["paths"]["/api/v1/dispatches"]["post"]
    assert {"200", "201", "401", "409", "413", "422"} <= set(intake["responses"])
    assert intake["security"] == [{"signedClient": []}]
    assert {p["name"] for p in intake["parameters"]} >= {"X-Client-Id", "X-Timestamp"}
    assert doc["paths"]["/api/v1/dispatches"]["get"]["security"] == [{"staffBearer": []}]
    assert {"401", "403"} <= set(doc["paths"]["/api/v1/dispatches"]["get"]["responses"])
    assert "429" in doc["paths"]["/api/v1/track"]["get"]["responses"]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["staffBearer"] == {**schemes["staffBearer"], "type": "http", "scheme": "bearer"}
    assert "HMAC-SHA256" in schemes["signedClient"]["description"]
    hook = doc["webhooks"]["dispatchEvent"]["post"]
    assert "X-Signature" in hook["description"] and "event_id" in hook["description"]
    callback = doc["components"]["schemas"]["CallbackEvent"]
    assert set(callback["required"]) >= {"event_id", "dispatch_id", "case_no", "status", "time"}


@pytest.fixture
async def served(tmp_path):
    runner = web.AppRunner(gateway(tmp_path))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        yield session
    await runner.cleanup()


async def test_the_served_document_and_page(served):
    async with served.get("/openapi.json") as r:
        assert r.status == 200 and r.content_type == "application/json"
        doc = await r.json()
    validate(doc)
    async with served.get("/api/docs") as r:
        assert r.status == 200 and r.content_type == "text/html"
        page = await r.text()
        csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "<script" not in page and "http://" not in page.replace("http://127.0.0.1", "")
    assert "https://" not in page  # nothing fetched from elsewhere: it reads offline
    for path in doc["paths"]:
        assert path in page
    assert "推送寄递单" in page and "Submit a dispatch" in page and "CERTPOST_CALLBACK_URL" in page


async def test_real_error_answers_match_their_models(served):
    async with served.post("/api/v1/dispatches", data=b"{}") as r:
        assert r.status == 401
        Error.model_validate(await r.json())
    async with served.get("/api/v1/dispatches?limit=x", headers={"Authorization": "Bearer nope"}) as r:
        assert r.status == 401
        Error.model_validate(await r.json())
    async with served.get("/api/v1/track?waybill_no=1&phone_last4=1234") as r:
        assert r.status == 404
        Error.model_validate(await r.json())
    assert InvalidError.model_json_schema()["required"] == ["error", "errors"]
