"""A real carrier is only ever spoken to with real credentials: never missing, never the simulator's.

The simulator's sign key and sender number are published (README, source); a gateway that used them
against a real carrier would also accept EMS pushes sealed by anyone who read them."""

from __future__ import annotations

import base64
import binascii

from adapters import CARRIER_KINDS

SIMULATOR_SIGN_KEY = "Y2VydHBvc3Qtc2FuZGJveA=="  # Base64("certpost-sandbox"): a 16-byte SM4 key
SIMULATOR_SENDER_NO = "1100000000001"
"""The built-in simulator's credentials: its defaults (in `certpost serve` and `certpost sandbox`),
published in the README, so refused here."""
RETIRED_EXAMPLE_SIGN_KEY = "MTIzNDU2Nzg5MGFiY2RlZg=="
"""Base64("1234567890abcdef"): the gateway's published default sign key before the simulator's one
became the only default; refused like the simulator's."""
PUBLISHED_SIGN_KEYS = frozenset({SIMULATOR_SIGN_KEY, RETIRED_EXAMPLE_SIGN_KEY})
SM4_KEY_BYTES = 16


class CarrierCredentialsError(ValueError):
    """A real carrier mode without usable credentials; the message is a one-line reason."""


def check_real_carrier(kind: str, *, url: str, sender_no: str, sign_key: str) -> None:
    """Raise CarrierCredentialsError unless `kind` is a real carrier with an endpoint, a sender number
    and a sign key of its own (not the simulator's published ones)."""
    if kind not in CARRIER_KINDS:
        expected = ", ".join(("sandbox", *CARRIER_KINDS))
        raise CarrierCredentialsError(f"CERTPOST_CARRIER={kind!r} 无效，应为 {expected} 之一")
    mode = f"CERTPOST_CARRIER={kind}"
    missing = [
        name
        for name, value in (
            ("CERTPOST_CARRIER_URL", url),
            ("CERTPOST_CARRIER_SENDER_NO", sender_no),
            ("CERTPOST_CARRIER_SIGN_KEY", sign_key),
        )
        if not value.strip()
    ]
    if missing:
        raise CarrierCredentialsError(f"{mode} 需要 EMS 分配的 {'、'.join(missing)}（未设置）")
    if sign_key.strip() in PUBLISHED_SIGN_KEYS:
        raise CarrierCredentialsError(
            f"{mode}：CERTPOST_CARRIER_SIGN_KEY 是模拟器公开的密钥，请设置 EMS 分配的密钥"
        )
    if sender_no.strip() == SIMULATOR_SENDER_NO:
        raise CarrierCredentialsError(
            f"{mode}：CERTPOST_CARRIER_SENDER_NO 是模拟器的协议客户号，请设置 EMS 分配的协议客户号"
        )
    if kind == "ems_open" and not is_sm4_key(sign_key.strip()):
        raise CarrierCredentialsError(
            f"{mode}：CERTPOST_CARRIER_SIGN_KEY 应为 16 字节 SM4 密钥的 Base64 编码"
        )


def is_sm4_key(sign_key: str) -> bool:
    try:
        return len(base64.b64decode(sign_key, validate=True)) == SM4_KEY_BYTES
    except (binascii.Error, ValueError):
        return False
