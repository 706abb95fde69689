"""`/api/docs`: the OpenAPI document as one readable page, rendered on the server from the same
document `/openapi.json` serves. Self-contained (inline style, no script, nothing fetched from elsewhere)
so it reads offline; headings and summaries in Chinese and English for the approval system's vendor."""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape

from aiohttp import web

from . import openapi

routes = web.RouteTableDef()
METHODS = ("get", "post", "put", "patch", "delete")
SECURITY_TEXT = {
    "signedClient": "机器客户端签名 signed client (X-Client-Id, X-Timestamp, X-Signature)",
    "staffBearer": "工作人员令牌 staff Bearer token",
}

STYLE = """
body{font:15px/1.55 system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:0;
color:#1f2933;background:#f7f8fa}
main{max-width:1100px;margin:0 auto;padding:16px 20px 60px}
h1{font-size:26px;margin:12px 0 4px}h2{margin-top:36px;border-bottom:2px solid #d9dee5;padding-bottom:4px}
h3{margin:0;font-size:16px;display:flex;gap:10px;align-items:center;flex-wrap:wrap;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px}
pre{background:#eef1f5;padding:10px;border-radius:6px;white-space:pre-wrap;word-break:break-word}
.op{background:#fff;border:1px solid #d9dee5;border-radius:8px;padding:12px 16px;margin:14px 0}
.m{font-weight:700;color:#fff;border-radius:4px;padding:1px 8px;font-size:13px;text-transform:uppercase}
.get{background:#2b6cb0}.post{background:#2f855a}.patch{background:#b7791f}.delete{background:#c53030}
.en{color:#52606d}.sec{font-size:13px;color:#52606d}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:14px}
th,td{border:1px solid #e1e5eb;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
code{overflow-wrap:anywhere}
th{background:#f0f3f7}nav ul{columns:2;padding-left:18px}a{color:#2b6cb0}
.req{color:#c53030;font-weight:700}
"""
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'"


@routes.get("/api/docs")
async def docs(request: web.Request) -> web.Response:
    page = render(openapi.document(request.app))
    return web.Response(
        text=page,
        content_type="text/html",
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
    )


def render(doc: dict) -> str:
    schemas = doc["components"]["schemas"]
    by_tag: dict[str, list[tuple[str, str, dict]]] = {t["name"]: [] for t in doc.get("tags", [])}
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                by_tag.setdefault((op.get("tags") or ["other"])[0], []).append((method, path, op))
    tags = {t["name"]: t["description"] for t in doc.get("tags", [])}
    nav = "".join(
        f'<li><a href="#tag-{escape(t)}">{escape(tags.get(t, t))}</a></li>'
        for t, ops in by_tag.items()
        if ops
    )
    sections = "".join(_tag_section(t, tags.get(t, t), ops) for t, ops in by_tag.items() if ops)
    hooks = "".join(_webhook(name, item["post"]) for name, item in doc.get("webhooks", {}).items())
    models = "".join(_schema_section(name, schema) for name, schema in schemas.items())
    schemes = "".join(
        f"<h3>{escape(name)}</h3><pre>{escape(s.get('description', ''))}</pre>"
        for name, s in doc["components"]["securitySchemes"].items()
    )
    info = doc["info"]
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>certpost 接口文档 API</title><style>{STYLE}</style></head>
<body><main>
<h1>certpost 接口文档 <span class="en">API reference</span></h1>
<p>{escape(info.get("summary", ""))} · OpenAPI {escape(doc["openapi"])} ·
<a href="/openapi.json">/openapi.json</a>（机器可读 machine-readable）</p>
<nav><h2>目录 <span class="en">Contents</span></h2><ul>{nav}
<li><a href="#auth">认证与签名 Authentication and signing</a></li>
<li><a href="#webhooks">回调 Callbacks (webhooks)</a></li>
<li><a href="#schemas">数据结构 Schemas</a></li></ul></nav>
<h2 id="auth">认证与签名 <span class="en">Authentication and signing</span></h2>{schemes}
{sections}
<h2 id="webhooks">回调 <span class="en">Callbacks to the approval system (webhooks)</span></h2>{hooks}
<h2 id="schemas">数据结构 <span class="en">Schemas</span></h2>{models}
</main></body></html>"""


def _tag_section(tag: str, title: str, ops: list) -> str:
    return f'<h2 id="tag-{escape(tag)}">{escape(title)}</h2>' + "".join(_operation(*o) for o in ops)


def _operation(method: str, path: str, op: dict) -> str:
    security = " 或 or ".join(
        " + ".join(SECURITY_TEXT.get(name, name) for name in requirement)
        for requirement in op.get("security", [])
    )
    parts = [
        f'<section class="op" id="{escape(op.get("operationId", ""))}">',
        f'<h3><span class="m {method}">{method}</span><code>{escape(path)}</code></h3>',
        f"<p>{escape(op.get('x-summary-zh', ''))} ",
        f'<span class="en">{escape(op.get("x-summary-en", ""))}</span></p>',
        f'<p class="sec">认证 Auth: {escape(security or "无 none (public)")}</p>',
    ]
    if op.get("description"):
        parts.append(f"<pre>{escape(op['description'])}</pre>")
    if op.get("parameters"):
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code>{_required(p.get('required'))}</td><td>{p['in']}</td>"
            f"<td>{_type(p.get('schema', {}))}</td><td>{escape(p.get('description', ''))}</td></tr>"
            for p in op["parameters"]
        )
        parts.append(
            f"<table><tr><th>参数 Parameter</th><th>in</th><th>类型 Type</th><th></th></tr>{rows}</table>"
        )
    if "requestBody" in op:
        bodies = ", ".join(
            f"<code>{escape(media)}</code>: {_type(c.get('schema', {}))}"
            for media, c in op["requestBody"]["content"].items()
        )
        parts.append(f"<p>请求体 Request body: {bodies}</p>")
    rows = "".join(
        f"<tr><td><b>{escape(status)}</b></td><td>{escape(r['description'])}</td><td>"
        + ", ".join(
            f"<code>{escape(m)}</code> {_type(c.get('schema', {}))}" for m, c in r.get("content", {}).items()
        )
        + "</td></tr>"
        for status, r in op["responses"].items()
    )
    parts.append(
        f"<table><tr><th>状态 Status</th><th>含义 Meaning</th><th>应答 Body</th></tr>{rows}</table></section>"
    )
    return "".join(parts)


def _webhook(name: str, op: dict) -> str:
    body = op["requestBody"]["content"]["application/json"]["schema"]
    return (
        f'<section class="op" id="webhook-{escape(name)}"><h3><span class="m post">post</span>'
        f"<code>CERTPOST_CALLBACK_URL</code> ({escape(name)})</h3><p>{escape(op['summary'])}</p>"
        f"<pre>{escape(op['description'])}</pre><p>请求体 Body: {_type(body)}</p></section>"
    )


def _schema_section(name: str, schema: dict) -> str:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code>{_required(field in required)}</td><td>{_type(s)}</td>"
        f"<td>{escape(_describe(s))}</td></tr>"
        for field, s in props.items()
    )
    table = (
        f"<table><tr><th>字段 Field</th><th>类型 Type</th><th>说明 Notes</th></tr>{rows}</table>"
        if rows
        else ""
    )
    doc = f"<p>{escape(schema['description'])}</p>" if schema.get("description") else ""
    return f'<section class="op" id="schema-{escape(name)}"><h3>{escape(name)}</h3>{doc}{table}</section>'


def _required(flag) -> str:
    return ' <span class="req" title="必填 required">*</span>' if flag else ""


def _describe(s: dict) -> str:
    notes = [s["description"]] if s.get("description") else []
    for key in ("minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "minItems", "maxItems"):
        if key in s:
            notes.append(f"{key} {s[key]}")
    if "default" in s:
        notes.append(f"default {json.dumps(s['default'], ensure_ascii=False)}")
    if "examples" in s:
        notes.append(f"e.g. {json.dumps(s['examples'][0], ensure_ascii=False)}")
    return "; ".join(notes)


def _type(s: dict) -> str:
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    if "anyOf" in s or "oneOf" in s:
        return " | ".join(_type(x) for x in s.get("anyOf") or s.get("oneOf"))
    if "enum" in s:
        return " | ".join(f"<code>{escape(json.dumps(v, ensure_ascii=False))}</code>" for v in s["enum"])
    if "const" in s:
        return f"<code>{escape(json.dumps(s['const'], ensure_ascii=False))}</code>"
    kind = s.get("type", "any")
    if kind == "array":
        return f"array&lt;{_type(s.get('items', {}))}&gt;"
    if kind == "object" and "additionalProperties" in s and isinstance(s["additionalProperties"], dict):
        return f"object&lt;string, {_type(s['additionalProperties'])}&gt;"
    text = escape(str(kind))
    if s.get("format"):
        text += f" ({escape(s['format'])})"
    return text
