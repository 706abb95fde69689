"""An approval-system simulator for pull intake (`certpost approval-sim`), for tests and the demo.

`GET /cases?after=<cursor>&limit=<n>` serves pages of generated completed cases (valid intake bodies,
sample people and places of 安福县) as `{"items": [...], "next_cursor": "…"}`; after the last case an empty
page with the same cursor. Every request must be signed as certpost signs its polls (X-Client-Id, X-Timestamp,
X-Signature over "<timestamp>." and the empty body), else 401. The `_control` API (open: a test double) adds
cases, makes items invalid, injects faults and lists the requests seen:

- `POST /_control/cases {"count": N}` — N more completed cases (the approval system goes on working);
- `POST /_control/bad {"positions": [i, …]}` — those cases (0-based) are served with an invalid phone;
- `POST /_control/faults {"mode": "down"|"http_500"|"http_503"|"malformed", "count": N}` — the next N
  polls fail that way (`down`: the connection is dropped unanswered); `DELETE /_control/faults` clears them;
- `GET /_control/requests` — every poll: after, limit, signed, status, served cursor;
- `GET /_control/cases` — the cases as generated (their valid bodies)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web

from logistics.domain.china_time import CHINA
from logistics.domain.signing import verify

DEFAULT_CLIENT, DEFAULT_SECRET = "approval", "approval-sim-secret"
FAULTS = ("down", "http_500", "http_503", "malformed")

_NAMES = ("王小明", "李秀英", "张伟", "刘芳", "陈静", "杨洋", "赵磊", "黄丽", "周杰", "吴敏", "徐强", "孙娟")
_TOWNS = (
    ("平都镇", "城东大道{n}号"), ("洲湖镇", "王屯村{n}号"), ("严田镇", "严田村{n}组"),
    ("枫田镇", "枫田街{n}号"), ("横龙镇", "横龙村委会旁{n}号"), ("竹江乡", "竹江村{n}号"),
)  # fmt: skip
_MATTERS = (
    ("食品经营许可证核发", "SCJGJ", "安福县市场监督管理局", "食品经营许可证", "JY1360829"),
    ("营业执照设立登记", "SCJGJ", "安福县市场监督管理局", "营业执照（正本）", "91360829MA"),
    ("不动产权证书核发", "ZRZYJ", "安福县自然资源局", "不动产权证书", "赣2026安福县不动产权第"),
    ("道路运输经营许可证核发", "JTYSJ", "安福县交通运输局", "道路运输经营许可证", "赣交运管许可吉字"),
)


def sample_case(n: int, day: str) -> dict:
    """The n-th completed case of `day` (YYYYMMDD): the same inputs give the same body."""
    matter, dept_code, dept_name, title, number = _MATTERS[n % len(_MATTERS)]
    town, detail = _TOWNS[n % len(_TOWNS)]
    completed = datetime.strptime(day, "%Y%m%d").replace(hour=9, tzinfo=CHINA) + timedelta(minutes=n)
    return {
        "case_no": f"AFSIM{day}{n:05d}",
        "matter_name": matter,
        "matter_code": f"11360829MB1234567X40001{n % 100:02d}001",
        "department_code": dept_code,
        "department_name": dept_name,
        "direction": "outbound",
        "delivery_method": "mail",
        "recipient": {"name": _NAMES[n % len(_NAMES)], "phone": f"138{(n * 7919) % 10**8:08d}"},
        "address": {
            "province": "江西省",
            "city": "吉安市",
            "county": "安福县",
            "town": town,
            "detail": detail.format(n=n % 90 + 1),
            "postcode": "343200",
        },
        "village_point_code": None,
        "items": [{"kind": "licence", "title": title, "number": f"{number}{n:06d}", "copies": 1}],
        "weight_g": 200 + (n % 5) * 50,
        "declared_value_fen": 0,
        "completed_at": completed.isoformat(),
    }


@dataclass
class SimState:
    client: str
    secret: str
    day: str
    cases: list[dict] = field(default_factory=list)
    bad: set[int] = field(default_factory=set)
    faults: list[str] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    page_max: int = 100

    def add(self, count: int) -> None:
        start = len(self.cases)
        self.cases += [sample_case(n, self.day) for n in range(start + 1, start + count + 1)]

    def item(self, pos: int) -> dict:
        body = self.cases[pos]
        return {**body, "recipient": {**body["recipient"], "phone": "12345"}} if pos in self.bad else body


STATE = web.AppKey("approval_sim", SimState)


def _cursor(pos: int) -> str:
    return f"c{pos:08d}"


def _position(after: str, total: int) -> int | None:
    if not after:
        return 0
    if len(after) == 9 and after[0] == "c" and after[1:].isdigit() and int(after[1:]) <= total:
        return int(after[1:])
    return None


def _signed(request: web.Request, state: SimState) -> bool:
    h = request.headers
    if h.get("X-Client-Id") != state.client:
        return False
    problem = verify(
        state.secret, h.get("X-Timestamp", ""), b"", h.get("X-Signature", ""), now_s=time.time(), window_s=300
    )
    return problem is None


async def cases_page(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    after, limit_text = request.query.get("after", ""), request.query.get("limit", "50")
    entry = {"after": after, "limit": limit_text, "signed": _signed(request, state), "at": time.time()}
    state.requests.append(entry)
    if not entry["signed"]:
        entry["status"] = 401
        return web.json_response({"error": "bad signature"}, status=401)
    if state.faults:
        fault = entry["fault"] = state.faults.pop(0)
        if fault == "down":
            entry["status"] = None
            request.transport.abort()  # unanswered: the client sees the connection dropped
            return web.Response(status=503)
        if fault == "malformed":
            entry["status"] = 200
            return web.Response(text="<html>维护中</html>", content_type="text/html")
        entry["status"] = int(fault[5:])
        return web.json_response({"error": "维护中"}, status=entry["status"])
    start = _position(after, len(state.cases))
    limit = int(limit_text) if limit_text.isdigit() else 0
    if start is None or limit < 1:
        entry["status"] = 400
        return web.json_response({"error": "unknown cursor or bad limit"}, status=400)
    end = min(len(state.cases), start + min(limit, state.page_max))
    entry.update(status=200, served=_cursor(end), count=end - start)
    items = [state.item(pos) for pos in range(start, end)]
    return web.json_response({"items": items, "next_cursor": _cursor(end)}, dumps=_dumps)


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


async def _json(request: web.Request) -> dict:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


async def add_cases(request: web.Request) -> web.Response:
    state, count = request.app[STATE], (await _json(request)).get("count", 1)
    if not isinstance(count, int) or not 0 < count <= 100_000:
        raise web.HTTPBadRequest(text="count: 1..100000")
    state.add(count)
    return web.json_response({"total": len(state.cases)})


async def list_cases(request: web.Request) -> web.Response:
    return web.json_response({"cases": request.app[STATE].cases}, dumps=_dumps)


async def mark_bad(request: web.Request) -> web.Response:
    state, positions = request.app[STATE], (await _json(request)).get("positions")
    if not isinstance(positions, list) or not all(isinstance(p, int) and p >= 0 for p in positions):
        raise web.HTTPBadRequest(text="positions: a list of case positions (0-based)")
    state.bad.update(positions)
    return web.json_response({"bad": sorted(state.bad)})


async def add_faults(request: web.Request) -> web.Response:
    data = await _json(request)
    mode, count = data.get("mode"), data.get("count", 1)
    if mode not in FAULTS or not isinstance(count, int) or not 0 < count <= 10_000:
        raise web.HTTPBadRequest(text=f"mode: one of {', '.join(FAULTS)}; count: 1..10000")
    request.app[STATE].faults += [mode] * count
    return web.json_response({"pending": len(request.app[STATE].faults)})


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return web.json_response({"pending": 0})


async def list_requests(request: web.Request) -> web.Response:
    return web.json_response({"requests": request.app[STATE].requests})


def create_approval_sim(
    *, cases: int = 20, client: str = DEFAULT_CLIENT, secret: str = DEFAULT_SECRET, day: str | None = None,
    page_max: int = 100,
) -> web.Application:  # fmt: skip
    app = web.Application()
    state = SimState(client, secret, day or datetime.now(CHINA).strftime("%Y%m%d"), page_max=page_max)
    state.add(cases)
    app[STATE] = state
    app.router.add_get("/cases", cases_page)
    app.router.add_post("/_control/cases", add_cases)
    app.router.add_get("/_control/cases", list_cases)
    app.router.add_post("/_control/bad", mark_bad)
    app.router.add_post("/_control/faults", add_faults)
    app.router.add_delete("/_control/faults", clear_faults)
    app.router.add_get("/_control/requests", list_requests)
    return app


def run_approval_sim(host: str, port: int, **options) -> None:
    app = create_approval_sim(**options)
    count = len(app[STATE].cases)
    print(f"approval-system simulator: http://{host}:{port}/cases ({count} cases)", flush=True)
    web.run_app(app, host=host, port=port, access_log=None, print=lambda *_: None)
