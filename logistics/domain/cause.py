"""Why a dispatch's audit trail (留痕) has a line: every cause we record, each with its Chinese text.

The values are the strings the trail has always stored and the API shows; never change one. A move made by
a carrier scan is recorded as "carrier scan <raw code> at <the scan's ISO time>" (`recorded_cause`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Cause(StrEnum):
    INTAKE = "intake"
    RECEIVED = "received"  # INTAKE as the first versions recorded it
    SELF_PICKUP = "self-pickup at the hall"
    BOOKING_REQUESTED = "booking requested"
    BOOKING = "booking with the carrier"
    BOOKED = "booked with the carrier"
    BOOKING_FAILED = "booking failed"
    BOOKED_OFFLINE = "carrier unreachable: booked offline with a pre-allocated number"
    OFFLINE_BOOKING_REFUSED = "carrier refused the offline booking"
    OFFLINE_BOOKING_REPORTED = "offline booking reported to the carrier"
    CARRIER_BOOKED_ANOTHER_NUMBER = "carrier booked another number"
    CANCEL_REQUESTED = "cancel requested"
    CANCELLED_BY_STAFF = "cancelled by staff"
    CANCELLED_AT_CARRIER = "cancelled at the carrier"
    CARRIER_REFUSED_TO_CANCEL = "carrier refused to cancel"
    RECIPIENT_CORRECTED = "recipient details corrected"
    LABEL_PRINTED = "label printed"
    LABEL_REPRINTED = "label reprinted"
    MANIFEST_PRINTED = "manifest printed"
    HANDED_OVER = "handed over"
    HANDOVER_CONFIRMED = "handover confirmed"
    PICKUP_CODE_SENT = "pickup code sent"
    PICKUP_CODE_REJECTED = "pickup code rejected"
    PICKED_UP = "picked up at the counter (pickup code verified)"
    PICKUP_SLIP_QUEUED = "pickup code to be printed on a slip"
    PICKUP_SLIP_PRINTED = "pickup slip printed"
    SMS_DELIVERED = "SMS delivered (provider receipt)"
    SMS_NOT_DELIVERED = "SMS not delivered (provider receipt)"
    DELIVERED_AT_VILLAGE_POINT = "delivered at the village point"
    VILLAGE_POINT_CLERK_CONFIRMED = "village point clerk confirmed"
    HANDED_OVER_AT_VILLAGE_POINT = "handed over at the village point (pickup code verified)"
    CARRIER_SCAN = "carrier scan"  # recorded with its scan: see `recorded_cause`

    @property
    def text(self) -> str:
        """What the console says."""
        return _TEXT[self]


_TEXT: dict[Cause, str] = {
    Cause.INTAKE: "收到审批系统推送",
    Cause.RECEIVED: "收到审批系统推送",
    Cause.SELF_PICKUP: "申请人选择窗口自取",
    Cause.BOOKING_REQUESTED: "工作人员发起下单",
    Cause.BOOKING: "向邮政下单",
    Cause.BOOKED: "邮政下单成功",
    Cause.BOOKING_FAILED: "邮政下单失败",
    Cause.BOOKED_OFFLINE: "邮政系统不可达，使用预分配运单号离线下单",
    Cause.OFFLINE_BOOKING_REFUSED: "邮政拒绝接收离线订单",
    Cause.OFFLINE_BOOKING_REPORTED: "离线订单已补报邮政",
    Cause.CARRIER_BOOKED_ANOTHER_NUMBER: "邮政另行分配了运单号",
    Cause.CANCEL_REQUESTED: "申请取消",
    Cause.CANCELLED_BY_STAFF: "工作人员取消",
    Cause.CANCELLED_AT_CARRIER: "邮政已撤单",
    Cause.CARRIER_REFUSED_TO_CANCEL: "邮政拒绝撤单",
    Cause.RECIPIENT_CORRECTED: "更正收件信息",
    Cause.LABEL_PRINTED: "打印面单",
    Cause.LABEL_REPRINTED: "补打面单",
    Cause.MANIFEST_PRINTED: "打印交接清单",
    Cause.HANDED_OVER: "交邮政揽收",
    Cause.HANDOVER_CONFIRMED: "确认交接",
    Cause.PICKUP_CODE_SENT: "发送取件码短信",
    Cause.PICKUP_CODE_REJECTED: "取件码核验未通过",
    Cause.PICKED_UP: "窗口自取（取件码核验通过）",
    Cause.PICKUP_SLIP_QUEUED: "取件码转为打印取件通知单",
    Cause.PICKUP_SLIP_PRINTED: "打印取件通知单",
    Cause.SMS_DELIVERED: "短信已送达（运营商回执）",
    Cause.SMS_NOT_DELIVERED: "短信未送达（运营商回执）",
    Cause.DELIVERED_AT_VILLAGE_POINT: "村级代办点签收",
    Cause.VILLAGE_POINT_CLERK_CONFIRMED: "代办点经办人确认交付",
    Cause.HANDED_OVER_AT_VILLAGE_POINT: "代办点交付申请人（取件码核验通过）",
    Cause.CARRIER_SCAN: "邮政轨迹扫描",
}


@dataclass(frozen=True, slots=True)
class ScanRef:
    """The carrier scan a CARRIER_SCAN move records: its raw code and its own time."""

    raw_code: str
    time: datetime


def recorded_cause(cause: Cause | str, scan: ScanRef | None = None) -> str:
    """The cause as the trail stores it and the API shows it."""
    if scan is not None:
        return f"{cause} {scan.raw_code} at {scan.time.isoformat()}"
    return str(cause)


_VALUES = frozenset(cause.value for cause in Cause)
_SCAN_LINE = re.compile(rf"{Cause.CARRIER_SCAN} (.+) at (\S+)")


def read_cause(recorded: str) -> tuple[Cause | str, ScanRef | None]:
    """A stored cause back: its member (and scan); one that is no member (an older row's) as it is."""
    if recorded in _VALUES:
        return Cause(recorded), None
    found = _SCAN_LINE.fullmatch(recorded)
    if found:
        try:
            return Cause.CARRIER_SCAN, ScanRef(found[1], datetime.fromisoformat(found[2]))
        except ValueError:
            pass
    return recorded, None
