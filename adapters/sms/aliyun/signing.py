"""Alibaba Cloud RPC-style request signing (签名机制, SignatureVersion 1.0, HMAC-SHA1), as dysmsapi
documents it: parameters sorted by name, each name and value percent-encoded by RFC 3986 (UTF-8; space
as %20, `*` as %2A, `~` kept), joined as a query; StringToSign = METHOD & %2F & encode(query); the
signature is base64(HMAC-SHA1(secret + "&", StringToSign)). Pure: no I/O, no clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

SIGNATURE_METHOD = "HMAC-SHA1"
SIGNATURE_VERSION = "1.0"


def percent_encode(value: str) -> str:
    """RFC 3986 percent-encoding of UTF-8: only A-Z a-z 0-9 - _ . ~ stay as they are."""
    return quote(str(value), safe="~")


def canonical_query(params: dict[str, str]) -> str:
    """The sorted, encoded query, without `Signature`."""
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs)


def string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed(params: dict[str, str], secret: str, method: str = "POST") -> dict[str, str]:
    """`params` with their `Signature` added."""
    return {**params, "Signature": signature(params, secret, method)}


def verify(params: dict[str, str], secret: str, method: str = "POST") -> bool:
    """What the provider does with a request: recompute and compare (constant time)."""
    given = params.get("Signature", "")
    return hmac.compare_digest(given.encode(), signature(params, secret, method).encode())
