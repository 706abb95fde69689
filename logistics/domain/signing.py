"""HMAC request signing shared by intake and outbound callbacks (contract: "Machine clients: signing")."""

from __future__ import annotations

import hmac


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.digest(secret.encode(), timestamp.encode() + b"." + body, "sha256").hex()


def sign_headers(client_id: str, secret: str, body: bytes, now_s: int) -> dict[str, str]:
    ts = str(now_s)
    return {"X-Client-Id": client_id, "X-Timestamp": ts, "X-Signature": signature(secret, ts, body)}


def verify(
    secret: str, timestamp: str, body: bytes, given: str, *, now_s: float, window_s: int
) -> str | None:
    """None when valid, else the reason (for the 401 body; it never reveals the expected value)."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return "X-Timestamp must be unix seconds"
    if abs(now_s - ts) > window_s:
        return f"X-Timestamp is more than {window_s} s from server time"
    if not hmac.compare_digest(signature(secret, timestamp, body), (given or "").lower()):
        return "X-Signature does not match"
    return None
