"""The SendSms request and its answer, and the SmsReport receipts: pure (no I/O, no clock)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from logistics.domain.china_time import CHINA
from logistics.ports import SmsTemplateMissing, SmsUnavailable

from .codes import THROTTLE_RETRY_S, error_for
from .signing import SIGNATURE_METHOD, SIGNATURE_VERSION, signed

VERSION = "2017-05-25"


@dataclass(frozen=True)
class AliyunSmsSettings:
    endpoint: str
    access_key_id: str
    access_key_secret: str
    sign_name: str
    templates: dict[str, str]
    region: str = "cn-hangzhou"
    timeout_s: float = 10.0
    throttle_retry_s: float = 60.0
    """After flow control (isv.BUSINESS_LIMIT_CONTROL …), try again no sooner than this."""


def timestamp(now: datetime) -> str:
    """ISO 8601 in UTC, as the API wants it: 2017-07-12T02:42:19Z."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def send_request(
    s: AliyunSmsSettings, phone: str, kind: str, params: dict, *, out_id: str, now: datetime, nonce: str
) -> dict[str, str]:
    """The signed form of one SendSms call; SmsTemplateMissing when `kind` has no TemplateCode."""
    template_code = s.templates.get(kind, "")
    if not template_code:
        raise SmsTemplateMissing(f"no TemplateCode configured for {kind}", code=f"template_missing:{kind}")
    form = {
        "AccessKeyId": s.access_key_id,
        "Action": "SendSms",
        "Format": "JSON",
        "OutId": out_id,
        "PhoneNumbers": phone,
        "RegionId": s.region,
        "SignName": s.sign_name,
        "SignatureMethod": SIGNATURE_METHOD,
        "SignatureNonce": nonce,
        "SignatureVersion": SIGNATURE_VERSION,
        "TemplateCode": template_code,
        "TemplateParam": json.dumps({k: str(v) for k, v in params.items()}, ensure_ascii=False),
        "Timestamp": timestamp(now),
        "Version": VERSION,
    }
    return signed(form, s.access_key_secret, "POST")


def query_request(
    s: AliyunSmsSettings, phone: str, *, sent_on: datetime, now: datetime, nonce: str, page: int = 1
) -> dict[str, str]:
    """The signed form of one QuerySendDetails call: the messages sent to `phone` on `sent_on`'s day
    (China time, yyyyMMdd), 50 a page."""
    form = {
        "AccessKeyId": s.access_key_id,
        "Action": "QuerySendDetails",
        "CurrentPage": str(page),
        "Format": "JSON",
        "PageSize": "50",
        "PhoneNumber": phone,
        "RegionId": s.region,
        "SendDate": sent_on.astimezone(CHINA).strftime("%Y%m%d"),
        "SignatureMethod": SIGNATURE_METHOD,
        "SignatureNonce": nonce,
        "SignatureVersion": SIGNATURE_VERSION,
        "Timestamp": timestamp(now),
        "Version": VERSION,
    }
    return signed(form, s.access_key_secret, "POST")


def parse_query_response(status: int, body: bytes) -> tuple[list[dict], int]:
    """(the page's SmsSendDetailDTO items, TotalCount); the mapped SmsError when the call failed."""
    answer = _answer(status, body)
    items = (answer.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
    return [i for i in items if isinstance(i, dict)], int(answer.get("TotalCount") or 0)


SENT_STATUSES = {1, 3}
"""SendStatus of a message the provider took: 1 waiting for its receipt, 3 delivered (2: failed)."""


def parse_send_response(status: int, body: bytes, *, throttle_retry_s: float = THROTTLE_RETRY_S) -> str:
    """The BizId of an accepted message; the mapped SmsError otherwise."""
    return str(_answer(status, body, throttle_retry_s=throttle_retry_s).get("BizId", ""))


def _answer(status: int, body: bytes, *, throttle_retry_s: float = THROTTLE_RETRY_S) -> dict:
    """dysmsapi's JSON answer when its `Code` is OK; the mapped SmsError otherwise."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("Code"), str):
        raise SmsUnavailable(f"aliyun sms: HTTP {status}, not a JSON answer", code=f"http_{status}")
    if answer["Code"] != "OK":
        raise error_for(answer["Code"], str(answer.get("Message", "")), throttle_retry_s=throttle_retry_s)
    return answer


@dataclass(frozen=True)
class Receipt:
    """One SmsReport (回执): `out_id` is our notice id, given as OutId when the message was sent."""

    out_id: str
    biz_id: str
    success: bool
    err_code: str
    report_time: str


def parse_receipts(body: bytes) -> list[Receipt]:
    """An SmsReport push: a JSON array of reports. ValueError naming what is wrong."""
    reports = json.loads(body)
    if not isinstance(reports, list):
        raise ValueError("body: a JSON array of reports")
    out = []
    for i, r in enumerate(reports):
        if not isinstance(r, dict) or not isinstance(r.get("success"), bool):
            raise ValueError(f"[{i}].success: a boolean")
        out.append(
            Receipt(
                str(r.get("out_id") or ""),
                str(r.get("biz_id") or ""),
                r["success"],
                str(r.get("err_code") or ""),
                str(r.get("report_time") or ""),
            )
        )
    return out
