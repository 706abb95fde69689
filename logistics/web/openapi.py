"""The OpenAPI 3.1 document, built from the running application: every `/api/v1` route of its router,
each with the `Operation` declared next to its handler (`api.documented`) and the pydantic models that
validate requests and describe answers. Served at `/openapi.json`; `/api/docs` renders it (api_docs)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .api import responses
from .api.documented import Media, Operation, operation_of

PREFIX = "/api/v1"
REF = "#/components/schemas/{model}"
UNDOCUMENTED = "x-certpost-undocumented"
DOCUMENT = web.AppKey("openapi_document", dict)  # {"document": …}, filled on first use

STATUS_TEXT = {
    200: "成功 OK",
    201: "已创建 Created",
    202: "已受理，稍后完成 Accepted",
    400: "请求无效 Bad request",
    401: "未认证：签名或令牌缺失、过期或错误 Unauthenticated (no side effect)",
    403: "角色无权 Forbidden for this role",
    404: "不存在（或不属于调用方） Not found",
    409: "冲突 Conflict",
    413: "请求体过大 Body over this endpoint's limit",
    422: "输入有误，逐字段说明 Invalid input, every field named",
    429: "过于频繁，见 Retry-After Too many failed attempts",
}
DEFAULT_ERROR = {422: responses.InvalidError}

SIGNING = """\
Every request of a machine client (the approval system, 审批系统) carries three headers:

* `X-Client-Id`: the client id configured in `CERTPOST_CLIENTS`;
* `X-Timestamp`: unix seconds (1-12 ASCII digits), at most 300 s from the server's time;
* `X-Signature`: lowercase hex of HMAC-SHA256(secret, "<X-Timestamp>.<raw request body>"),
  the body exactly as sent (an empty body for GET).

A missing, stale or wrong signature is `401` with a JSON error, and nothing happens.
机器客户端（审批系统）每个请求都带这三个请求头；
签名 = HMAC-SHA256(密钥, "时间戳." + 原始请求体) 的小写十六进制。"""

BEARER = """\
Staff: `Authorization: Bearer <token>`, the token printed by `certpost users add NAME --role ROLE`.
Roles: dispatcher (dispatch, labels, manifests, exceptions), finance (reconciliation, reports),
admin (everything). A wrong role is `403`. 工作人员令牌；角色不符返回 403。"""

CALLBACKS = """\
When a parcel is delivered, fails delivery, comes back or is picked up, certpost POSTs this JSON to
`CERTPOST_CALLBACK_URL`, **signed exactly like intake** with the owning client's id and secret:
`X-Client-Id`, `X-Timestamp`, `X-Signature` = hex HMAC-SHA256(secret, "<timestamp>.<raw body>").
Verify the signature over the raw body bytes before parsing and refuse a timestamp more than 300 s off.
Answer any 2xx once stored; anything else (or no answer) is retried with backoff and dead-lettered
after the limit, so the same `event_id` may arrive more than once: drop a repeat.
签收、投递失败、退回、自取时回调审批系统；签名方式与推送相同，请先验签再解析，按 event_id 去重。"""

TAGS = [
    {"name": "intake", "description": "审批系统推送与查询 Intake from the approval system (signed)"},
    {"name": "dispatches", "description": "寄递单（工作人员） Dispatches (staff)"},
    {"name": "printing", "description": "面单与交接清单 Labels and handover manifests"},
    {"name": "tracking", "description": "查询与异常 Citizen tracking, exceptions, operations"},
    {"name": "finance", "description": "对账与结账 Reconciliation and closing a month"},
    {"name": "statistics", "description": "统计分析与智能监管 Statistics and supervision"},
    {"name": "village points", "description": "乡村代办点 Village proxy points and their clerks' access"},
    {"name": "carrier", "description": "承运商推送 EMS trace pushes (sealed with the carrier's key)"},
]


def _header(name: str, description: str, required: bool) -> dict:
    schema: dict = {"type": "string"}
    if name == "X-Timestamp":
        schema = {"type": "string", "pattern": "^[0-9]{1,12}$"}
    elif name == "X-Signature":
        schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
    return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}


SIGNING_HEADERS = (
    ("X-Client-Id", "机器客户端编号 the client id"),
    ("X-Timestamp", "unix 秒 unix seconds, within 300 s"),
)


def build(app: web.Application) -> dict:
    """The document of `app` (a gateway built by logistics.bootstrap)."""
    models: dict[str, tuple[type[BaseModel], str]] = {}
    paths: dict[str, dict] = {}
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method == "HEAD" or not resource.canonical.startswith(PREFIX):
            continue
        path, op = resource.canonical, operation_of(route.handler)
        item = paths.setdefault(path, {})
        item[route.method.lower()] = (
            _operation(path, route.method, op, models) if op else {UNDOCUMENTED: True, "responses": {}}
        )
    webhooks = _webhooks(models)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "certpost API",
            "version": "1",
            "summary": "证照寄递网关接口 Postal dispatch gateway for government service centres",
            "description": "审批系统（机器客户端）、工作人员与群众查询使用的接口。\n\n" + SIGNING,
        },
        "servers": [{"url": "/"}],
        "tags": TAGS,
        "paths": dict(sorted(paths.items())),
        "webhooks": webhooks,
        "components": {
            "schemas": _schemas(models),
            "securitySchemes": {
                "signedClient": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Signature",
                    "description": SIGNING,
                },
                "staffBearer": {"type": "http", "scheme": "bearer", "description": BEARER},
            },
        },
    }


def _ref(model: type[BaseModel], mode: str, models: dict) -> dict:
    models[f"{model.__name__}:{mode}"] = (model, mode)
    return {"$ref": REF.format(model=model.__name__)}


def _schemas(models: dict) -> dict:
    if not models:
        return {}
    keyed = [(m, mode) for m, mode in models.values()]
    _, top = models_json_schema(keyed, ref_template=REF)  # type: ignore[arg-type]
    return dict(sorted(top.get("$defs", {}).items()))


def _content(body, mode: str, models: dict) -> dict:
    if isinstance(body, Media):
        return {media: {"schema": schema} for media, schema in body.types.items()}
    return {"application/json": {"schema": _ref(body, mode, models)}}


def _operation_id(method: str, path: str) -> str:
    return f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path[len(PREFIX) :].lower()).strip('_')}"


def _operation(path: str, method: str, op: Operation, models: dict) -> dict:
    out: dict[str, Any] = {
        "operationId": _operation_id(method, path),
        "summary": f"{op.summary_zh} {op.summary_en}",
        "x-summary-zh": op.summary_zh,
        "x-summary-en": op.summary_en,
        "tags": [op.tag],
        "parameters": _parameters(path, op),
        "responses": _responses(op, models),
    }
    if op.description or op.roles:
        roles = f"角色 roles: {', '.join(op.roles)} (admin always)." if op.roles else ""
        out["description"] = "\n\n".join(t for t in (op.description, roles) if t)
    if op.request is not None:
        out["requestBody"] = {"required": True, "content": _content(op.request, "validation", models)}
    out["security"] = {
        "client": [{"signedClient": []}],
        "staff": [{"staffBearer": []}],
        "client_or_staff": [{"staffBearer": []}, {"signedClient": []}],
        "none": [],
    }[op.security]
    return out


def _parameters(path: str, op: Operation) -> list[dict]:
    declared = {p.name: p for p in op.params}
    params = []
    for name in re.findall(r"{(\w+)", path):
        p = declared.pop(name, None)
        params.append(
            {"name": name, "in": "path", "required": True, "schema": p.schema if p else {"type": "string"}}
            | ({"description": p.description} if p and p.description else {})
        )
    for p in declared.values():
        param = {"name": p.name, "in": p.where, "required": p.required, "schema": p.schema}
        extras = {"description": p.description, "style": p.style, "explode": p.explode}
        params.append(param | {k: v for k, v in extras.items() if v not in (None, "")})
    if op.security in ("client", "client_or_staff"):
        params += [_header(n, d, op.security == "client") for n, d in SIGNING_HEADERS]
    return params


def _responses(op: Operation, models: dict) -> dict:
    answers: dict[int, Any] = dict(op.responses)
    if op.security in ("client", "staff", "client_or_staff"):
        answers.setdefault(401, responses.Error)
    if op.security in ("staff", "client_or_staff"):
        answers.setdefault(403, responses.Error)
    if op.request is not None:
        answers.setdefault(413, responses.Error)
    out = {}
    for status in sorted(answers):
        body = answers[status]
        answer: dict[str, Any] = {"description": STATUS_TEXT.get(status, str(status))}
        if body is None and status >= 400:
            body = DEFAULT_ERROR.get(status, responses.Error)
        if body is not None:
            answer["content"] = _content(body, "serialization", models)
        if status in op.headers:
            answer["headers"] = {
                h: {"description": d, "schema": {"type": "string"}} for h, d in op.headers[status].items()
            }
        out[str(status)] = answer
    return out


def _webhooks(models: dict) -> dict:
    return {
        "dispatchEvent": {
            "post": {
                "summary": "寄递结果回调 Delivery outcome callback to the approval system",
                "description": CALLBACKS,
                "parameters": [
                    _header("X-Client-Id", "接收方的客户端编号 your client id", True),
                    _header("X-Timestamp", "unix 秒 unix seconds", True),
                    _header("X-Signature", "hex HMAC-SHA256(secret, '<timestamp>.<raw body>')", True),
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": _ref(responses.CallbackEvent, "serialization", models)}
                    },
                },
                "responses": {
                    "2XX": {"description": "已收到 Stored (a repeat event_id too)"},
                    "default": {"description": "其他状态或无应答：稍后重试 Anything else is retried later"},
                },
            }
        }
    }


# ---- serving -------------------------------------------------------------------------------------

routes = web.RouteTableDef()


def install(app: web.Application) -> None:
    """`/openapi.json`; call after every `/api/v1` route is added."""
    app[DOCUMENT] = {}
    app.add_routes(routes)


def document(app: web.Application) -> dict:
    """Built once, on first use (the router is complete by then)."""
    cache = app[DOCUMENT]
    if "document" not in cache:
        cache["document"] = build(app)
    return cache["document"]


@routes.get("/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(document(request.app), headers={"Cache-Control": "no-cache"})
