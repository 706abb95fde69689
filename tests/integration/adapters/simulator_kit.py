"""Helpers for driving the EMS simulator and the adapters in integration tests."""

from __future__ import annotations

import aiohttp

from logistics.domain.model import Address, Party
from logistics.ports import Shipment

ADAPTER_TIMEOUT_S = 0.6
KINDS = ("ems_open", "ems_soap")


def shipment(order_no: str = "RES0001", **changes) -> Shipment:
    fields = {
        "order_no": order_no,
        "order_type": 2,
        "sender": Party("安福县政务服务中心", "07967654321"),
        "sender_address": Address("江西省", "吉安市", "安福县", "平都镇城东大道1号", "343200"),
        "receiver": Party("王小明", "13807961234"),
        "receiver_address": Address("江西省", "吉安市", "安福县", "王屯村12号", "343200", town="洲湖镇"),
        "weight_g": 200,
        "declared_value_fen": 0,
        "contents": "食品经营许可证",
    }
    return Shipment(**{**fields, **changes})


class Simulator:
    def __init__(self, base: str, http: aiohttp.ClientSession):
        self.base, self.http = base, http

    async def control(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        async with self.http.request(method, self.base + "/_control" + path, json=body) as response:
            return response.status, await response.json(content_type=None)

    async def orders(self) -> list[dict]:
        return (await self.control("GET", "/orders"))[1]["orders"]

    async def fault(self, operation: str, mode: str, count: int = 1) -> None:
        status, _ = await self.control(
            "POST", "/faults", {"operation": operation, "mode": mode, "count": count}
        )
        assert status == 201

    async def advance(self, waybill_no: str, to: str) -> dict:
        status, body = await self.control("POST", f"/parcels/{waybill_no}/advance", {"to": to})
        assert status == 200, body
        return body
