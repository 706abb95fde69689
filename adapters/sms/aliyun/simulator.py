"""A loopback stand-in for Alibaba Cloud SMS (dysmsapi), for tests and demos: a real aiohttp server that
checks each SendSms as the provider does (known AccessKeyId, the signature recomputed, a timestamp within
15 minutes, a nonce used once, the sign name, the template and its variables, the number), answers as it
does (`{"Code": "OK", "BizId", "RequestId"}` or its error codes, HTTP 400/404 for signature and key
errors), and pushes SmsReport receipts to a receipt URL.

    POST /                       SendSms (form body or query), RPC style
    GET  /_control/messages      {"messages": [{biz_id, out_id, phone_last4, template_code, params, text}]}
    GET  /_control/requests      every call and its answer code (to count attempts)
    POST /_control/faults        {"mode": "throttle"|"system_error"|"http_500"|"timeout"|"illegal_number"|
                                  "undelivered"|"sent_then_timeout", "count": N}: the next N sends fail that
                                 way (sent_then_timeout: the message goes, its answer never comes)
    QuerySendDetails (POST /, Action=QuerySendDetails) lists what was sent to a number on a day.
    DELETE /_control/faults"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta

import aiohttp
from aiohttp import web

from logistics.domain.masking import phone_last4

from .signing import verify

MOBILE = re.compile(r"1[3-9]\d{9}")
VARIABLE = re.compile(r"\$\{(\w+)\}")
FAULTS = {
    "throttle",
    "system_error",
    "http_500",
    "timeout",
    "illegal_number",
    "undelivered",
    "sent_then_timeout",
}
CLOCK_SKEW = timedelta(minutes=15)


class AliyunSmsSimulator:
    def __init__(
        self,
        *,
        keys: dict[str, str],
        sign_name: str,
        templates: dict[str, str],
        receipt_url: str = "",
        receipt_delay_s: float = 0.05,
    ):
        self.keys, self.sign_name, self.templates = keys, sign_name, templates
        self.receipt_url, self.receipt_delay_s = receipt_url, receipt_delay_s
        self.messages: list[dict] = []
        self.requests: list[dict] = []
        self.receipts_pushed: list[dict] = []
        self._sent: list[dict] = []  # as QuerySendDetails shows them (full numbers: the provider's own)
        self._faults: deque[str] = deque()
        self._nonces: set[str] = set()
        self._tasks: set[asyncio.Task] = set()
        self._closing = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/", self.send_sms)
        app.router.add_get("/", self.send_sms)
        app.router.add_get("/_control/messages", self._messages)
        app.router.add_get("/_control/requests", self._requests)
        app.router.add_post("/_control/faults", self._add_faults)
        app.router.add_delete("/_control/faults", self._clear_faults)
        app.on_shutdown.append(self._shutdown)
        app.on_cleanup.append(self._cleanup)
        return app

    # ---- SendSms --------------------------------------------------------------------------------

    async def send_sms(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        code, status, extra = self._judge(request.method, params)
        self.requests.append(
            {"action": params.get("Action", ""), "out_id": params.get("OutId", ""), "code": code}
        )
        if code in {"timeout", "sent_then_timeout"}:  # no answer until the server shuts down
            await self._closing.wait()
        if code == "http_500":
            return web.Response(status=500, text="Internal Server Error")
        answer = {"RequestId": str(uuid.uuid4()).upper(), "Code": code, "Message": _MESSAGES.get(code, code)}
        return web.json_response({**answer, **extra}, status=status)

    def _judge(self, method: str, p: dict) -> tuple[str, int, dict]:
        secret = self.keys.get(p.get("AccessKeyId", ""))
        if secret is None:
            return "InvalidAccessKeyId.NotFound", 404, {}
        if not verify(p, secret, method):
            return "SignatureDoesNotMatch", 400, {}
        try:
            at = datetime.strptime(p.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "MissingParameter", 400, {}
        if abs(datetime.now(UTC) - at) > CLOCK_SKEW:
            return "InvalidTimeStamp.Expired", 400, {}
        nonce = p.get("SignatureNonce", "")
        if not nonce or nonce in self._nonces:
            return "SignatureNonceUsed", 400, {}
        self._nonces.add(nonce)
        if p.get("Version") != "2017-05-25" or p.get("Action") not in {"SendSms", "QuerySendDetails"}:
            return "InvalidAction.NotFound", 404, {}
        if p["Action"] == "QuerySendDetails":
            return self._details(p)
        fault = self._faults.popleft() if self._faults else None
        if fault in {"throttle", "system_error", "http_500", "timeout"}:
            code = {"throttle": "isv.BUSINESS_LIMIT_CONTROL", "system_error": "isp.SYSTEM_ERROR"}.get(
                fault, fault
            )
            return code, 200, {}
        if fault == "illegal_number" or not MOBILE.fullmatch(p.get("PhoneNumbers", "")):
            return "isv.MOBILE_NUMBER_ILLEGAL", 200, {}
        if p.get("SignName") != self.sign_name:
            return "isv.SMS_SIGNATURE_ILLEGAL", 200, {}
        text = self.templates.get(p.get("TemplateCode", ""))
        if text is None:
            return "isv.SMS_TEMPLATE_ILLEGAL", 200, {}
        try:
            values = json.loads(p.get("TemplateParam") or "{}")
        except ValueError:
            return "isv.INVALID_JSON_PARAM", 200, {}
        if not isinstance(values, dict) or any(name not in values for name in VARIABLE.findall(text)):
            return "isv.TEMPLATE_MISSING_PARAMETERS", 200, {}
        biz_id = f"{len(self.messages) + 1:06d}^{uuid.uuid4().int % 10**10:010d}"
        self.messages.append(
            {
                "biz_id": biz_id,
                "out_id": p.get("OutId", ""),
                "phone_last4": phone_last4(p["PhoneNumbers"]),
                "template_code": p["TemplateCode"],
                "params": values,
                "text": f"【{self.sign_name}】" + VARIABLE.sub(lambda m: str(values[m[1]]), text),
            }
        )
        self._sent.append(
            {
                "PhoneNum": p["PhoneNumbers"],
                "SendStatus": 1,
                "ErrCode": "",
                "TemplateCode": p["TemplateCode"],
                "Content": self.messages[-1]["text"],
                "SendDate": _china_now().strftime("%Y-%m-%d %H:%M:%S"),
                "ReceiveDate": "",
                "OutId": p.get("OutId", ""),
            }
        )
        delivered = fault != "undelivered"
        self._sent[-1].update(
            SendStatus=3 if delivered else 2, ErrCode="DELIVERED" if delivered else "MK:0001"
        )
        self._push_receipt(p, biz_id, delivered=delivered)
        if fault == "sent_then_timeout":
            return "sent_then_timeout", 200, {}
        return "OK", 200, {"BizId": biz_id}

    def _details(self, p: dict) -> tuple[str, int, dict]:
        """QuerySendDetails: the messages to PhoneNumber on SendDate (yyyyMMdd), paged."""
        if not MOBILE.fullmatch(p.get("PhoneNumber", "")):
            return "isv.MOBILE_NUMBER_ILLEGAL", 200, {}
        try:
            size, page = int(p.get("PageSize", "")), int(p.get("CurrentPage", ""))
            day = datetime.strptime(p.get("SendDate", ""), "%Y%m%d").strftime("%Y-%m-%d")
        except ValueError:
            return "isv.INVALID_PARAMETERS", 200, {}
        if not 1 <= size <= 50 or page < 1:
            return "isv.INVALID_PARAMETERS", 200, {}
        found = [m for m in self._sent if m["PhoneNum"] == p["PhoneNumber"] and m["SendDate"].startswith(day)]
        shown = found[(page - 1) * size : page * size]
        return "OK", 200, {"TotalCount": len(found), "SmsSendDetailDTOs": {"SmsSendDetailDTO": shown}}

    # ---- receipts (SmsReport) ---------------------------------------------------------------------

    def _push_receipt(self, p: dict, biz_id: str, *, delivered: bool) -> None:
        if not self.receipt_url:
            return
        now = _china_now()
        stamp = now.strftime("%Y-%m-%d %H:%M:%S")
        report = {
            "phone_number": p["PhoneNumbers"],
            "send_time": stamp,
            "report_time": stamp,
            "success": delivered,
            "err_code": "DELIVERED" if delivered else "MK:0001",
            "err_msg": "用户接收成功" if delivered else "空号",
            "sms_size": "1",
            "biz_id": biz_id,
            "out_id": p.get("OutId", ""),
        }
        task = asyncio.get_running_loop().create_task(self._post_receipt(report))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post_receipt(self, report: dict) -> None:
        await asyncio.sleep(self.receipt_delay_s)
        for _ in range(5):  # the provider retries a push that is not acknowledged
            try:
                async with aiohttp.ClientSession() as session:
                    async with session.post(self.receipt_url, json=[report]) as r:
                        answer = await r.json(content_type=None)
                if r.status == 200 and isinstance(answer, dict) and answer.get("code") == 0:
                    self.receipts_pushed.append(report)
                    return
            except (aiohttp.ClientError, ValueError):
                pass
            await asyncio.sleep(0.5)

    async def _shutdown(self, app) -> None:
        self._closing.set()  # requests held without an answer end now

    async def _cleanup(self, app) -> None:
        for task in list(self._tasks):
            task.cancel()

    # ---- control --------------------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.Response:
        return web.json_response({"messages": self.messages})

    async def _requests(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": self.requests})

    async def _add_faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        mode, count = body.get("mode"), body.get("count", 1)
        if mode not in FAULTS or not isinstance(count, int) or count < 1:
            return web.json_response(
                {"error": f"mode: one of {sorted(FAULTS)}; count: a positive integer"}, status=422
            )
        self._faults.extend([mode] * count)
        return web.json_response({"pending": len(self._faults)})

    async def _clear_faults(self, request: web.Request) -> web.Response:
        self._faults.clear()
        return web.json_response({"pending": 0})


def _china_now() -> datetime:
    return datetime.now(UTC) + timedelta(hours=8)  # naive China time, as the provider writes it


_MESSAGES = {
    "OK": "OK",
    "isv.BUSINESS_LIMIT_CONTROL": "触发号码天级流控Permits:10",
    "isp.SYSTEM_ERROR": "isp.SYSTEM_ERROR",
    "isv.MOBILE_NUMBER_ILLEGAL": "非法手机号",
    "isv.SMS_SIGNATURE_ILLEGAL": "该账号下找不到对应签名",
    "isv.SMS_TEMPLATE_ILLEGAL": "该账号下找不到对应模板",
    "isv.INVALID_JSON_PARAM": "JSON参数不合法，只接受字符串值",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板变量缺少对应参数值",
    "SignatureDoesNotMatch": "Specified signature is not matched with our calculation.",
    "InvalidAccessKeyId.NotFound": "Specified access key is not found.",
    "InvalidTimeStamp.Expired": "Specified time stamp or date value is expired.",
    "SignatureNonceUsed": "Specified signature nonce was used already.",
}


def main(argv: list[str] | None = None) -> None:
    """`python -m adapters.sms.aliyun.simulator --port 8092 …`: the simulator on its own (demos, manual
    tests): point CERTPOST_ALIYUN_SMS_ENDPOINT at it with the same key, secret, sign name and codes."""
    import argparse

    from logistics.domain.sms_text import TEMPLATES

    p = argparse.ArgumentParser(prog="aliyun-sms-simulator")
    p.add_argument("--port", type=int, default=8092)
    p.add_argument("--key-id", default="LTAI-simulator")
    p.add_argument("--secret", default="simulator-secret")
    p.add_argument("--sign-name", default="县政务服务中心")
    p.add_argument("--templates", default="", help='JSON {"pickup_code": "SMS_…", …} (default: SMS_<kind>)')
    p.add_argument("--receipt-url", default="", help="where to push SmsReport receipts (with its ?token=)")
    args = p.parse_args(argv)
    codes = json.loads(args.templates) if args.templates else {k: f"SMS_{k}" for k in TEMPLATES}
    sim = AliyunSmsSimulator(
        keys={args.key_id: args.secret},
        sign_name=args.sign_name,
        templates={code: TEMPLATES[kind] for kind, code in codes.items() if kind in TEMPLATES},
        receipt_url=args.receipt_url,
    )
    web.run_app(sim.app(), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
