"""HMAC request signing shared by intake and outbound callbacks (contract: "Machine clients: signing")."""

from __future__ import annotations

import hmac
import re

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: no sign, "_", spaces or other scripts' digits


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.digest(secret.encode(), timestamp.encode() + b"." + body, "sha256").hex()


def sign_headers(client_id: str, secret: str, body: bytes, now_s: int) -> dict[str, str]:
    ts = str(now_s)
    return {"X-Client-Id": client_id, "X-Timestamp": ts, "X-Signature": signature(secret, ts, body)}


def verify(
    secret: str, timestamp: str, body: bytes, given: str, *, now_s: float, window_s: int
) -> str | None:
    """None when valid, else the reason (for the 401 body; it never reveals the expected value)."""
    ts = parse_timestamp(timestamp)
    if ts is None:
        return "X-Timestamp must be unix seconds (ASCII digits only)"
    if abs(now_s - ts) > window_s:
        return f"X-Timestamp is more than {window_s} s from server time"
    if not hmac.compare_digest(signature(secret, timestamp, body), (given or "").lower()):
        return "X-Signature does not match"
    return None


def parse_timestamp(text: str) -> int | None:
    """Unix seconds from an X-Timestamp header, or None unless it is 1-12 ASCII digits.

    int() alone would also take "+1796…", "1_796…", " 1796…" and full-width or other scripts' digits:
    text the signer and we could then read as the same time while signing different bytes."""
    if not isinstance(text, str) or _TIMESTAMP.fullmatch(text) is None:
        return None
    return int(text)
