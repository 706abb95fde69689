"""Chinese wording shared by the console's use cases and pages: statuses, times, money."""

from __future__ import annotations

from datetime import date, datetime

from ..domain.china_time import CHINA
from .citizen import STATUS_TEXT

STATUS_SHORT = {
    **STATUS_TEXT,
    "received": "待下单",
    "booking": "下单中",
    "booked": "待打印",
    "booking_failed": "下单失败",
    "label_printed": "待交接",
    "awaiting_pickup": "待自取",
}
METHOD_TEXT = {"mail": "邮寄到家", "village_point": "村级代办点", "pickup": "窗口自取"}
DIRECTION_TEXT = {"outbound": "寄出证照", "inbound": "收取材料"}
INBOUND_METHOD_TEXT = "上门收件"  # EMS collects the applicant's materials at their address


def method_text(direction: str, delivery_method: str) -> str:
    """How the parcel travels, as the hall says it: an inbound collection is never "邮寄到家"."""
    if direction == "inbound":
        return INBOUND_METHOD_TEXT
    return METHOD_TEXT.get(delivery_method, delivery_method)


def cn_time(t: datetime | None, *, seconds: bool = False) -> str:
    if t is None:
        return "—"
    return t.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def cn_today(now: datetime) -> date:
    return now.astimezone(CHINA).date()


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=CHINA)


def yuan(fen: int | None) -> str:
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"
