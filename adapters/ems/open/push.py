"""EMS 040002 trace pushes: decode and verify an incoming push, and build EMS's expected answer.

EMS pushes `{logitcsInterface, method: "040002", msgType, senderNo, serialNo, timeStamp, version}`
(as JSON or as form fields); a non-success answer asks EMS to push again."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from logistics.ports import CarrierUnavailable, TrackEvent

from .. import codes
from ..crypto import SealError, unseal
from ..mapping import track_event
from .mapping import TRACE_PUSH


class InvalidPush(ValueError):
    """Not a push we can trust: wrong sender, wrong key, or not an EMS scan."""


@dataclass(frozen=True)
class TracePush:
    serial_no: str
    sender_no: str
    events: tuple[TrackEvent, ...]
    order_no: str = ""


def parse_trace_push(body: bytes | str | Mapping[str, str], *, sign_key: str, sender_no: str) -> TracePush:
    """Decode a 040002 push and check it is sealed with our signKey and addressed to our senderNo."""
    fields = _fields(body)
    if str(fields.get("method", TRACE_PUSH)) != TRACE_PUSH:
        raise InvalidPush("not a 040002 trace push")
    if str(fields.get("senderNo", "")) != sender_no:
        raise InvalidPush("push for another sender number")
    try:
        scans = json.loads(unseal(str(fields.get("logitcsInterface", "")), sign_key))
    except (SealError, ValueError) as exc:
        raise InvalidPush("push does not open with our signKey") from exc
    items = scans if isinstance(scans, list) else [scans]
    try:
        events = tuple(track_event(item) for item in items if isinstance(item, dict))
    except CarrierUnavailable as exc:
        raise InvalidPush(str(exc)) from None
    if not events:
        raise InvalidPush("push holds no scan")
    order_no = str(items[0].get("orderNo") or "") if isinstance(items[0], dict) else ""
    return TracePush(str(fields.get("serialNo", "")), sender_no, events, order_no)


def _fields(body: bytes | str | Mapping[str, str]) -> Mapping:
    if isinstance(body, Mapping):
        return body
    try:
        fields = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidPush("push body is not JSON") from exc
    if not isinstance(fields, dict):
        raise InvalidPush("push body is not a JSON object")
    return fields


def push_answer(serial_no: str, sender_no: str, *, ok: bool = True, message: str = "") -> dict[str, str]:
    """What EMS expects back; `ok=False` asks EMS to push this serial again."""
    return {
        "serialNo": serial_no,
        "code": codes.SUCCESS if ok else PUSH_RETRY_CODE,
        "codeMessage": message or ("成功" if ok else "处理失败"),
        "senderNo": sender_no,
    }


PUSH_RETRY_CODE = "S0001"  # any non-success code makes EMS retry (*unconfirmed* which one EMS expects)
