"""The WebService side of the simulator: a plain aiohttp handler with lxml, serving the repository's WSDL."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from lxml import etree

from adapters.common.bodies import read_body
from adapters.ems import codes
from adapters.ems.crypto import sign_params
from adapters.ems.mapping import ems_time
from adapters.ems.soap import NAMESPACE, WSDL_PATH

from .core import MAX_REQUEST_BYTES, Sandbox
from .state import Order, SimError

WSDL_PLACEHOLDER_ADDRESS = "http://127.0.0.1:8080/sandbox/soap"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = NAMESPACE
OPERATIONS = {
    "createOrder": "create_order",
    "queryOrder": "find_order",
    "cancelOrder": "cancel",
    "queryTrace": "trace",
    "getBillNumBySys": "allocate_numbers",
    "updatePrintDatas": "print_data",
    "checkCollectionRange": "reachability",
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _local(tag: str) -> str:
    return etree.QName(tag).localname


def as_dict(element: etree._Element) -> dict:
    """Children by local name; repeated names become lists, leaves become text."""
    out: dict = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        value = as_dict(child) if len(child) else (child.text or "")
        name = _local(child.tag)
        if name in out:
            out[name] = [*out[name], value] if isinstance(out[name], list) else [out[name], value]
        else:
            out[name] = value
    return out


def _add(parent: etree._Element, name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _add(parent, name, item)
        return
    child = etree.SubElement(parent, f"{{{TNS}}}{name}")
    if isinstance(value, dict):
        for key, item in value.items():
            _add(child, key, item)
    else:
        child.text = ("true" if value else "false") if isinstance(value, bool) else str(value)


def _envelope(build: Callable[[etree._Element], None], *, status: int = 200, headers=None) -> web.Response:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "tns": TNS})
    build(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"))
    return web.Response(
        body=etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"),
        status=status,
        headers=headers,
        content_type="text/xml",
        charset="utf-8",
    )


def fault(code: str, message: str, *, client: bool, status: int = 500, retry_after_s: int | None = None):
    def build(body: etree._Element) -> None:
        node = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
        etree.SubElement(node, "faultcode").text = "soap:Client" if client else "soap:Server"
        etree.SubElement(node, "faultstring").text = message
        detail = etree.SubElement(etree.SubElement(node, "detail"), f"{{{TNS}}}faultDetail")
        _add(detail, "errorCode", code)
        _add(detail, "retryAfter", retry_after_s)

    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return _envelope(build, status=status, headers=headers)


class SoapWire:
    def __init__(self, operation: str):
        self.operation = operation

    def success(self, result: dict) -> web.Response:
        return self._result({"success": "T", **result})

    def _result(self, fields: dict) -> web.Response:
        def build(body: etree._Element) -> None:
            node = etree.SubElement(body, f"{{{TNS}}}{self.operation}Response")
            for name, value in fields.items():
                _add(node, name, value)

        return _envelope(build)

    def error(self, code: str, message: str) -> web.Response:
        if code in codes.AUTH_CODES:
            return fault(code, message, client=True)
        return self._result({"success": "F", "errorCode": code, "errorMsg": message})

    def busy(self, retry_after_s: int, *, throttled: bool) -> web.Response:
        message = "请求过于频繁，请稍后再试" if throttled else "系统繁忙，请稍后再试"
        return fault(
            codes.BUSY, message, client=False, status=429 if throttled else 500, retry_after_s=retry_after_s
        )

    def malformed(self) -> web.Response:
        body = f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body><tns:{self.operation}Resp'
        return web.Response(text=body, content_type="text/xml")


def trace_item(order: Order, scan) -> dict:
    return {
        "mailNo": order.waybill_no,
        "opTime": ems_time(scan.time),
        "opCode": scan.op_code,
        "opName": scan.op_name,
        "opDesc": scan.op_desc,
        "opOrgName": scan.org_name,
        "opOrgProvName": scan.org_prov,
        "opOrgCity": scan.org_city,
    }


def order_info(order: Order) -> dict:
    return {
        "txLogisticID": order.order_no,
        "mailNo": order.waybill_no,
        "orderType": order.order_type,
        "status": order.status,
        "createdTime": ems_time(order.created_at),
    }


def make_handlers(sandbox: Sandbox):
    carrier, state = sandbox.carrier, sandbox.state
    wsdl_text = WSDL_PATH.read_text(encoding="utf-8")

    def business(operation: str, fields: dict) -> dict:
        if operation == "createOrder":
            order = carrier.create_order(
                {**fields, "logisticsOrderNo": fields.get("txLogisticID"), "waybillNo": fields.get("mailNo")}
            )
            return {"txLogisticID": order.order_no, "mailNo": order.waybill_no}
        if operation == "queryOrder":
            return {"order": order_info(state.find_order(str(fields.get("txLogisticID", ""))))}
        if operation == "cancelOrder":
            state.cancel(str(fields.get("txLogisticID", "")), str(fields.get("mailNo") or ""))
            return {}
        if operation == "queryTrace":
            order, scans = state.trace(str(fields.get("mailNo", "")))
            return {"trace": [trace_item(order, scan) for scan in scans]}
        if operation == "getBillNumBySys":
            try:
                amount = int(fields.get("billNoAmount") or 0)
            except ValueError:
                raise SimError(codes.BAD_REQUEST, "billNoAmount 格式错误") from None
            return {"assignIds": {"assignId": [{"billno": n} for n in state.allocate(amount)]}}
        if operation == "updatePrintDatas":
            data = fields.get("printData")
            if not isinstance(data, dict) or not data.get("billno"):
                raise SimError(codes.BAD_REQUEST, "缺少 printData.billno")
            state.mark_printed(str(data["billno"]))
            return {}
        reachable, reason = carrier.reachable(fields)
        return {"reachable": reachable, "reason": reason or None}

    def authenticated(operation: str, fields: dict) -> dict:
        auth = fields.get("auth")
        if not isinstance(auth, dict) or auth.get("senderNo") != sandbox.sender_no:
            raise SimError("A0002", codes.AUTH_CODES["A0002"])
        expected = sign_params(
            {
                "operation": operation,
                "senderNo": sandbox.sender_no,
                "timeStamp": str(auth.get("timeStamp", "")),
            },
            sandbox.sign_key,
        )
        if auth.get("sign") != expected:
            raise SimError("A0001", codes.AUTH_CODES["A0001"])
        return fields

    async def handle(request: web.Request) -> web.Response:
        try:
            document = etree.fromstring(await read_body(request, MAX_REQUEST_BYTES), _PARSER)
        except etree.XMLSyntaxError:
            return fault(codes.BAD_REQUEST, "请求不是合法的 XML", client=True)
        body = document.find(f"{{{SOAP_ENV}}}Body")
        call = next(
            (child for child in (body if body is not None else []) if isinstance(child.tag, str)), None
        )
        if document.getroottree().docinfo.doctype or call is None or _local(call.tag) not in OPERATIONS:
            return fault(codes.BAD_REQUEST, "不支持的请求", client=True)
        operation, fields = _local(call.tag), as_dict(call)
        return await sandbox.perform(
            request,
            OPERATIONS[operation],
            lambda: business(operation, authenticated(operation, fields)),
            SoapWire(operation),
        )

    async def wsdl(request: web.Request) -> web.Response:
        if "wsdl" not in request.query:
            raise web.HTTPMethodNotAllowed("GET", ["POST"])
        address = str(request.url.with_query(None))
        return web.Response(
            text=wsdl_text.replace(WSDL_PLACEHOLDER_ADDRESS, address), content_type="text/xml"
        )

    return handle, wsdl
