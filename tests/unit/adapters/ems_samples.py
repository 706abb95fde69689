"""The one shipment and instant the golden fixtures were recorded with."""

from __future__ import annotations

from datetime import datetime

from adapters.ems.mapping import CHINA_TIME
from logistics.domain.model import Address, Party
from logistics.ports import Shipment

NOW = datetime(2026, 11, 5, 10, 30, 0, tzinfo=CHINA_TIME)
SENDER_NO = "1100000000001"
SIGN_KEY = "Y2VydHBvc3Qtc2FuZGJveA=="
SHIPMENT = Shipment(
    order_no="RES20261105A1",
    order_type=2,
    sender=Party("安福县政务服务中心", "07967654321"),
    sender_address=Address("江西省", "吉安市", "安福县", "平都镇城东大道1号", "343200"),
    receiver=Party("王小明", "13807961234"),
    receiver_address=Address("江西省", "吉安市", "安福县", "王屯村12号", "343200", town="洲湖镇"),
    weight_g=200,
    declared_value_fen=0,
    contents="食品经营许可证",
)
