"""What the simulated carrier does with a request, whatever protocol carried it.

Inputs use the open platform's field names; the SOAP side translates its own names before calling."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from adapters.ems import codes
from logistics.domain.validation import is_phone

from .scans import Area
from .state import Order, SandboxState, SimError

UNREACHABLE_MARKER = "不可达"


class Carrier:
    def __init__(self, state: SandboxState, unreachable_counties: Iterable[str] = ()):
        self.state = state
        self.unreachable_counties = frozenset(unreachable_counties)

    def reachable(self, fields: dict) -> tuple[bool, str]:
        if UNREACHABLE_MARKER in str(fields.get("address", "")):
            return False, "该地址不在投递范围"
        if str(fields.get("county", "")) in self.unreachable_counties:
            return False, "该区县暂不提供投递服务"
        return True, ""

    def _party_area(self, party: object, role: str) -> Area:
        if not isinstance(party, dict):
            raise SimError(codes.BAD_REQUEST, f"缺少{role}信息")
        missing = [k for k in ("name", "prov", "city", "county", "address") if not party.get(k)]
        if missing:
            raise SimError(codes.BAD_REQUEST, f"{role}信息缺少字段：{','.join(missing)}")
        phone = str(party.get("mobile") or party.get("phone") or "")
        if not is_phone(phone):
            raise SimError(codes.BAD_PHONE, f"{role}联系电话格式错误")
        ok, reason = self.reachable(party)
        if not ok:
            raise SimError(codes.ADDRESS_UNREACHABLE, f"{role}地址{reason}")
        return Area(str(party["prov"]), str(party["city"]), str(party["county"]))

    def create_order(self, fields: dict) -> Order:
        order_no = str(fields.get("logisticsOrderNo") or "").strip()
        if not order_no or len(order_no) > 64:
            raise SimError(codes.BAD_REQUEST, "logisticsOrderNo 缺失或过长")
        try:
            existing = self.state.find_order(order_no)
        except SimError:
            existing = None
        if existing is not None:  # carriers dedupe by the customer's order number
            return existing
        try:
            weight = int(fields.get("weight") or 0)
            order_type = int(fields.get("orderType") or 2)
        except (TypeError, ValueError):
            raise SimError(codes.BAD_REQUEST, "weight 或 orderType 格式错误") from None
        if weight <= 0 or order_type not in (1, 2):
            raise SimError(codes.BAD_REQUEST, "weight 须大于 0，orderType 须为 1 或 2")
        origin = self._party_area(fields.get("sender"), "寄件人")
        destination = self._party_area(fields.get("receiver"), "收件人")
        waybill_no = str(fields.get("waybillNo") or "") or None
        order, _ = self.state.create_order(order_no, order_type, weight, origin, destination, waybill_no)
        return order

    def postage(self, fields: dict) -> tuple[Decimal, Decimal]:
        """(contract fee, list price) in yuan: first 500 g, then per started 500 g."""
        try:
            weight = int(fields.get("weight") or 0)
        except (TypeError, ValueError):
            raise SimError(codes.BAD_REQUEST, "weight 格式错误") from None
        if weight <= 0:
            raise SimError(codes.BAD_REQUEST, "weight 须大于 0")
        steps = max(0, weight - 500 + 499) // 500
        same_province = fields.get("senderProv") == fields.get("receiverProv")
        first, step = (Decimal(8), Decimal(2)) if same_province else (Decimal(10), Decimal(3))
        contract = first + step * steps
        return contract, (contract * Decimal("1.25")).quantize(Decimal("0.01"))
