"""dysmsapi's documented answers (错误码), mapped onto the core's SMS errors with an explicit fallback.

`OK` is success. Flow control is a wait; the number or the message itself is refused for good; a
signature, key, sign name or template problem is ours to fix; the provider's own faults are retried."""

from __future__ import annotations

from logistics.ports import SmsError, SmsMisconfigured, SmsRejected, SmsThrottled, SmsUnavailable

THROTTLED = {
    "isv.BUSINESS_LIMIT_CONTROL",  # 业务限流: per number per minute/hour/day
    "isv.DAY_LIMIT_CONTROL",  # 触发日发送限额
    "Throttling.User",  # 用户调用频率超限 (OpenAPI flow control)
    "Throttling",
}
REJECTED = {
    "isv.MOBILE_NUMBER_ILLEGAL",  # 非法手机号
    "isv.MOBILE_COUNT_OVER_LIMIT",  # 手机号码数量超过限制
    "isv.TEMPLATE_MISSING_PARAMETERS",  # 模板缺少变量
    "isv.TEMPLATE_PARAMS_ILLEGAL",  # 模板变量里包含非法关键字
    "isv.PARAM_LENGTH_LIMIT",  # 参数超出长度限制
    "isv.INVALID_JSON_PARAM",  # JSON参数不合法
    "isv.BLACK_KEY_CONTROL_LIMIT",  # 黑名单管控
    "isv.INVALID_PARAMETERS",  # 参数异常
    "isv.PARAM_NOT_SUPPORT_URL",  # 不支持URL
    "isv.DENY_IP_RANGE",  # 号码在禁止发送的区域
    "isv.EXTEND_CODE_ERROR",  # 扩展码使用错误
    "isv.OUT_OF_SERVICE",  # 业务停机 (account in arrears: no message goes until staff pay)
    "isv.AMOUNT_NOT_ENOUGH",  # 账户余额不足
}
MISCONFIGURED = {
    "SignatureDoesNotMatch",  # 签名不匹配
    "InvalidAccessKeyId.NotFound",  # AccessKeyId 不存在
    "InvalidAccessKeyId.Inactive",
    "IncompleteSignature",
    "InvalidTimeStamp.Expired",  # our clock is off by more than 15 minutes
    "SignatureNonceUsed",
    "isv.SMS_SIGNATURE_ILLEGAL",  # 签名不合法
    "isv.SMS_TEMPLATE_ILLEGAL",  # 模板不合法
    "isv.SMS_SIGN_ILLEGAL",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.ACCOUNT_ABNORMAL",
    "isp.RAM_PERMISSION_DENY",  # RAM权限DENY: the key's RAM user lacks dysmsapi permission (despite isp.)
    "isv.RAM_PERMISSION_DENY",
    "isv.PRODUCT_UN_SUBSCRIPT",  # 未开通云通信产品
    "isv.PRODUCT_UNSUBSCRIBE",
    "Forbidden.RAM",
    "InvalidVersion",
    "InvalidAction.NotFound",
    "MissingParameter",
}
TRANSIENT = {"isp.SYSTEM_ERROR", "ServiceUnavailable", "InternalError"}

THROTTLE_RETRY_S = 60.0
"""Flow control per number is counted per minute at the least: no sooner than this."""


def error_for(code: str, message: str = "", *, throttle_retry_s: float = THROTTLE_RETRY_S) -> SmsError:
    """The core's error for one of dysmsapi's `Code`s (never `OK`)."""
    text = f"aliyun sms: {code}"
    if code in THROTTLED:
        return SmsThrottled(text, code=code, retry_after=throttle_retry_s)
    if code in REJECTED:
        return SmsRejected(text, code=code)
    if code in MISCONFIGURED:
        return SmsMisconfigured(text, code=code)
    if code in TRANSIENT or code.startswith("isp."):  # after MISCONFIGURED: one isp. code is ours
        return SmsUnavailable(text, code=code)
    return SmsUnavailable(f"{text} (unknown code, retried)", code=code or "unknown")
