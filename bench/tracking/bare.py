"""The floor for citizen lookups: a bare aiohttp handler answering a fixed JSON of the same shape."""

import sys

from aiohttp import web

ANSWER = {
    "status": "in_transit", "status_text": "运输中", "waybill_no": "1110000001736", "case_no": "BENCH-1",
    "carrier": "中国邮政 EMS", "matter_name": "食品经营许可证核发", "department_name": "安福县市场监督管理局",
    "completed_at": "2026-11-05T10:00:00+08:00", "recipient": {"name": "王*明", "phone": "138******34"},
    "destination": "江西省吉安市安福县洲湖镇", "reason": "", "updated_at": "2026-11-05T10:00:00+08:00",
    "events": [{"time": "2026-11-05T10:00:00+08:00", "status": "in_transit", "status_text": "运输中",
                "description": "邮件到达处理中心", "location": "吉安市邮区中心局"}] * 4,
}  # fmt: skip


async def track(request: web.Request) -> web.Response:
    return web.json_response(ANSWER, headers={"Cache-Control": "no-store"})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


app = web.Application()
app.router.add_get("/api/v1/track", track)
app.router.add_get("/healthz", health)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
