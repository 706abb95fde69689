"""Finding codes, their precedence, and the finding record itself."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import NamedTuple


class Code(StrEnum):
    DUPLICATE = "duplicate"
    UNKNOWN_WAYBILL = "unknown_waybill"
    CANCELLED_BUT_BILLED = "cancelled_but_billed"
    OUT_OF_PERIOD = "out_of_period"
    WEIGHT_MISMATCH = "weight_mismatch"
    OVERCHARGED = "overcharged"
    UNDERCHARGED = "undercharged"
    NOT_BILLED = "not_billed"
    OK = "ok"


# When a line has several faults the first of these wins (CONTRACT.md); also the order of report sections.
PRECEDENCE = tuple(Code)

# Findings that claim money back from EMS when billed exceeds expected: the dispute list.
DISPUTABLE = frozenset(PRECEDENCE[:6])

UNKNOWN_DEPARTMENT = "UNKNOWN"  # where lines for waybills we never booked are allocated


class Finding(NamedTuple):
    """One invoice line or one unbilled shipment. Money in fen; difference = billed − expected."""

    waybill_no: str
    department_code: str
    line_no: int | None  # statement row; None for not_billed
    accepted_on: date | None  # the line's 收寄日期, or the shipment's handover date for not_billed
    code: str
    billed_fen: int
    expected_fen: int
    difference_fen: int
    detail: str
    billed_weight_g: int | None
    chargeable_weight_g: int | None  # ours, by the tariff
    zone: str | None

    @property
    def disputed(self) -> bool:
        return self.code in DISPUTABLE and self.difference_fen > 0
