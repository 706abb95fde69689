"""EMS code tables: scan opCodes and legacy push actions to our statuses, and reply codes to errors.

Codes marked *unconfirmed* are our best reading of public integration code; each lives in one table
so it is a one-line change when EMS documentation says otherwise."""

from __future__ import annotations

from logistics.domain.status import Status
from logistics.ports import (
    CarrierAuthError,
    CarrierError,
    CarrierRejected,
    CarrierThrottled,
)

OPCODE_STATUS: dict[str, Status] = {
    "203": Status.HANDED_OVER,  # 收寄计费信息
    "303": Status.IN_TRANSIT,  # 揽投配发
    "305": Status.IN_TRANSIT,  # 揽投发运
    "954": Status.IN_TRANSIT,  # 到达处理中心
    "389": Status.IN_TRANSIT,  # 处理中心封发
    "989": Status.IN_TRANSIT,  # 离开处理中心
    "912": Status.IN_TRANSIT,  # 航班落地
    "306": Status.IN_TRANSIT,  # 揽投解车
    "702": Status.OUT_FOR_DELIVERY,  # 投递邮件接收-下段
    "704": Status.DELIVERED,  # 投递结果反馈-妥投
    "705": Status.DELIVERY_FAILED,  # 投递结果反馈-未妥投
    "711": Status.RETURNING,  # 退回 (*unconfirmed*)
    "714": Status.RETURNED,  # 退回妥投 (*unconfirmed*)
}
FALLBACK_STATUS = Status.IN_TRANSIT
"""An unknown scan is movement we cannot name; the raw code is kept on the event."""
REASON_STATUSES = frozenset({Status.DELIVERY_FAILED, Status.RETURNING, Status.RETURNED})
"""Scans whose description is the reason staff must act on."""

LEGACY_ACTION_STATUS: dict[str, Status] = {
    "00": Status.HANDED_OVER,
    "60": Status.HANDED_OVER,  # collected
    "30": Status.IN_TRANSIT,
    "40": Status.IN_TRANSIT,
    "41": Status.IN_TRANSIT,
    "50": Status.OUT_FOR_DELIVERY,
    "51": Status.OUT_FOR_DELIVERY,
    "10": Status.DELIVERED,
    "20": Status.DELIVERY_FAILED,
}


def status_for_opcode(op_code: str) -> Status:
    return OPCODE_STATUS.get(op_code.strip(), FALLBACK_STATUS)


def status_for_legacy_action(action: str) -> Status:
    return LEGACY_ACTION_STATUS.get(action.strip(), FALLBACK_STATUS)


# ---- reply codes (open platform retCode, WebService errorCode) --------------------------------

SUCCESS = "00000"
AUTH_CODES = {
    "A0001": "签名验证失败",  # body does not open with the signKey (*unconfirmed* code)
    "A0002": "协议客户号或授权码无效",  # unknown senderNo / authorization (*unconfirmed* code)
}
BUSY = "B01"  # 系统繁忙 (*unconfirmed* code)
ADDRESS_UNREACHABLE = "E101"  # 收件地址不在投递范围 (*unconfirmed*)
BAD_PHONE = "E102"  # 联系电话格式错误 (*unconfirmed*)
ORDER_NOT_FOUND = "E103"  # 订单不存在 (*unconfirmed*)
CANNOT_CANCEL = "E104"  # 邮件已收寄，不能撤单 (*unconfirmed*)
BAD_REQUEST = "E105"  # 报文字段缺失或格式错误 (*unconfirmed*)
BAD_WAYBILL_NO = "E106"  # 运单号不可用 (*unconfirmed*)
NUMBERS_EXHAUSTED = "E029"  # 可用单号不足 (legacy getBillNumBySys)


def error_for(code: str, message: str, *, retry_after: float | None = None) -> CarrierError:
    """The exception a non-success reply code stands for; unknown codes are business rejections."""
    if code in AUTH_CODES:
        return CarrierAuthError(message or AUTH_CODES[code], code=code)
    if code == BUSY:
        return CarrierThrottled(message or "系统繁忙", code=code, retry_after=retry_after)
    return CarrierRejected(message or f"EMS 错误 {code}", code=code)
