"""A shipment as reconciliation sees it: what we booked, where to, and when the carrier accepted it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ShippedParcel:
    """One of our shipments, as the database knows it."""

    waybill_no: str
    department_code: str
    weight_g: int
    declared_value_fen: int
    province: str
    city: str
    county: str
    accepted_on: date | None  # China date of the handed_over scan
    cancelled: bool = False
    department_name: str = ""  # 安福县市场监督管理局, as the approval system sent it
