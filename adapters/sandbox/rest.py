"""The open-platform side of the simulator: one form-POST endpoint, SM4-sealed JSON, apiCodes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from adapters.common.bodies import read_form
from adapters.ems import codes
from adapters.ems.crypto import SealError, unseal
from adapters.ems.mapping import ems_time
from adapters.ems.open import mapping as m

from .core import MAX_REQUEST_BYTES, Sandbox
from .scans import Scan
from .state import Order, SimError

OPERATIONS = {
    m.CREATE_ORDER: "create_order",
    m.ORDER_QUERY: "find_order",
    m.CANCEL_ORDER: "cancel",
    m.TRACE: "trace",
    m.POSTAGE: "quote",
    m.REACHABILITY: "reachability",
}
REQUIRED_FIELDS = ("apiCode", "senderNo", "msgType", "timeStamp", "version", "logitcsInterface")


class RestWire:
    def __init__(self, now: Callable[[], datetime]):
        self._now = now

    def _reply(self, code: str, message: str, body: object = None, *, status: int = 200, headers=None):
        payload = {
            "serialNo": uuid.uuid4().hex,
            "retCode": code,
            "retMsg": message,
            "retBody": None if body is None else json.dumps(body, ensure_ascii=False),
            "retDate": ems_time(self._now()),
            "success": code == codes.SUCCESS,
        }
        return web.json_response(payload, status=status, headers=headers, dumps=_dumps)

    def success(self, result: dict) -> web.Response:
        return self._reply(codes.SUCCESS, "成功", result)

    def error(self, code: str, message: str) -> web.Response:
        return self._reply(code, message)

    def busy(self, retry_after_s: int, *, throttled: bool) -> web.Response:
        return self._reply(
            codes.BUSY,
            "请求过于频繁，请稍后再试" if throttled else "系统繁忙，请稍后再试",
            status=429 if throttled else 200,
            headers={"Retry-After": str(retry_after_s)},
        )

    def malformed(self) -> web.Response:
        return web.Response(text='{"serialNo": "', content_type="application/json")


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def scan_item(order: Order, scan: Scan) -> dict:
    return {
        "waybillNo": order.waybill_no,
        "orderNo": order.order_no,
        "opTime": ems_time(scan.time),
        "opCode": scan.op_code,
        "opName": scan.op_name,
        "opDesc": scan.op_desc,
        "opOrgCode": "",
        "opOrgName": scan.org_name,
        "opOrgProvName": scan.org_prov,
        "opOrgCity": scan.org_city,
        "operatorNo": "",
        "operatorName": "",
    }


def _booking(order: Order) -> dict:
    return {"logisticsOrderNo": order.order_no, "waybillNo": order.waybill_no}


def make_handler(sandbox: Sandbox, now: Callable[[], datetime]):
    wire = RestWire(now)
    carrier = sandbox.carrier

    def business(api_code: str, fields: dict) -> dict:
        if api_code == m.CREATE_ORDER:
            return _booking(carrier.create_order(fields))
        if api_code == m.ORDER_QUERY:
            return _booking(carrier.state.find_order(str(fields.get("logisticsOrderNo", ""))))
        if api_code == m.CANCEL_ORDER:
            order_no, waybill_no = str(fields.get("logisticsOrderNo", "")), str(fields.get("waybillNo") or "")
            return _booking(carrier.state.cancel(order_no, waybill_no))
        if api_code == m.TRACE:
            order, scans = carrier.state.trace(str(fields.get("waybillNo", "")))
            return {"responseItems": [scan_item(order, scan) for scan in scans]}
        if api_code == m.POSTAGE:
            real, standard = carrier.postage(fields)
            return {"realFee": f"{real:.2f}", "standardFee": f"{standard:.2f}"}
        reachable, reason = carrier.reachable(fields)
        return {"reachable": reachable, "reason": reason}

    def authenticated(form) -> dict:
        if form["senderNo"] != sandbox.sender_no:
            raise SimError("A0002", codes.AUTH_CODES["A0002"])
        if sandbox.authorization is not None and form.get("authorization") != sandbox.authorization:
            raise SimError("A0002", codes.AUTH_CODES["A0002"])
        try:
            fields = json.loads(unseal(form["logitcsInterface"], sandbox.sign_key))
        except (SealError, ValueError):
            raise SimError("A0001", codes.AUTH_CODES["A0001"]) from None
        if not isinstance(fields, dict):
            raise SimError(codes.BAD_REQUEST, "报文须为 JSON 对象")
        return fields

    async def handle(request: web.Request) -> web.Response:
        form = await read_form(request, MAX_REQUEST_BYTES)
        missing = [k for k in REQUIRED_FIELDS if not form.get(k)]
        if missing:
            return wire.error(codes.BAD_REQUEST, f"缺少参数：{','.join(missing)}")
        api_code = str(form["apiCode"])
        if api_code not in OPERATIONS:
            return wire.error(codes.BAD_REQUEST, f"不支持的 apiCode {api_code}")
        return await sandbox.perform(
            request, OPERATIONS[api_code], lambda: business(api_code, authenticated(form)), wire
        )

    return handle
