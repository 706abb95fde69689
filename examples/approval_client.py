"""A minimal certpost client for the approval system (审批系统), Python 3.8+ standard library only.

Copy this file. It shows the four things an integration needs:

1. sign a request:      X-Signature = hex HMAC-SHA256(secret, "<X-Timestamp>.<raw body>")
2. submit a dispatch:   POST /api/v1/dispatches  -> 201 new, 200 identical replay, 409, 422, 401, 413
3. replay it safely:    sending the same body again (e.g. after a timeout) returns 200 and the first answer
4. verify a callback:   certpost POSTs delivery outcomes to your URL, signed the same way with your secret

签名：HMAC-SHA256(密钥, "时间戳." + 原始请求体) 的小写十六进制；回调用同一密钥、同一方法签名，先验签再解析。
The whole interface: GET /openapi.json (machine-readable) or /api/docs (readable) on your certpost server.

Run against a server:  python approval_client.py http://127.0.0.1:8080 approval shared-secret
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

WINDOW_S = 300  # certpost refuses a timestamp more than 300 s from its clock; do the same for callbacks


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret."""
    return hmac.new(
        secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()


def signed_headers(client_id: str, secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if now is None else now))
    return {"X-Client-Id": client_id, "X-Timestamp": timestamp, "X-Signature": sign(secret, timestamp, body)}


class InvalidSignature(Exception):
    """A callback whose signature, client id or timestamp does not hold: answer 401 and ignore it."""


def verify_callback(
    headers: Mapping[str, str], body: bytes, secret: str, client_id: str, now: float | None = None
) -> dict[str, Any]:
    """The callback's JSON if certpost signed these exact bytes for `client_id`, else InvalidSignature.

    `headers` is the request's header mapping (case as received; http.server and most frameworks give a
    case-insensitive one); `body` the raw bytes, read before any JSON parsing."""
    given = {k.lower(): v for k, v in headers.items()}
    timestamp, signature = given.get("x-timestamp", ""), given.get("x-signature", "")
    if given.get("x-client-id") != client_id:
        raise InvalidSignature("unexpected X-Client-Id")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise InvalidSignature("X-Timestamp must be unix seconds")
    if abs((time.time() if now is None else now) - int(timestamp)) > WINDOW_S:
        raise InvalidSignature("X-Timestamp too far from our clock")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.lower()):
        raise InvalidSignature("X-Signature does not match")
    return json.loads(body)


class CertpostClient:
    def __init__(self, base_url: str, client_id: str, secret: str, timeout_s: float = 30):
        self.base_url, self.client_id, self.secret = base_url.rstrip("/"), client_id, secret
        self.timeout_s = timeout_s

    def submit(self, dispatch: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST a dispatch. Keep the exact bytes if you may resend: a replay must be the same content."""
        body = json.dumps(dispatch, ensure_ascii=False).encode("utf-8")
        return self.submit_raw(body)

    def submit_raw(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """Safe to resend the same bytes after a timeout or a dropped connection (200, same answer)."""
        return self._call("POST", "/api/v1/dispatches", body)

    def get(self, dispatch_id: str) -> tuple[int, dict[str, Any]]:
        """A dispatch this client created, with its audit trail (signature over an empty body)."""
        return self._call("GET", f"/api/v1/dispatches/{urllib.request.quote(dispatch_id, safe='')}", b"")

    def _call(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        headers = signed_headers(self.client_id, self.secret, body)
        if body:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.base_url + path, data=body or None, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:  # 4xx: {"error": ...} or {"errors": [{"field", "message"}]}
            return e.code, json.loads(e.read() or b"{}")


EXAMPLE = {
    "case_no": "AF2026110500123",
    "matter_name": "食品经营许可证核发",
    "matter_code": "11360829MB1234567X4000113001",
    "department_code": "SCJGJ",
    "department_name": "安福县市场监督管理局",
    "direction": "outbound",
    "delivery_method": "mail",
    "recipient": {"name": "王小明", "phone": "13807961234"},
    "address": {"province": "江西省", "city": "吉安市", "county": "安福县", "town": "洲湖镇",
                "detail": "王屯村12号", "postcode": "343200"},
    "village_point_code": None,
    "items": [{"kind": "licence", "title": "食品经营许可证", "number": "JY13608290012345", "copies": 1}],
    "weight_g": 200,
    "declared_value_fen": 0,
    "completed_at": "2026-11-05T10:00:00+08:00",
}  # fmt: skip


def main(argv: list) -> int:
    if len(argv) != 4:
        print(__doc__)
        return 2
    client = CertpostClient(argv[1], argv[2], argv[3])
    body = json.dumps(EXAMPLE, ensure_ascii=False).encode("utf-8")
    first = client.submit_raw(body)
    replay = client.submit_raw(body)  # as after a timeout: the same answer, no second dispatch
    print("submit:", first[0], "replay:", replay[0], "same answer:", first[1] == replay[1])
    return 0 if first[0] in (200, 201) and replay[0] == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
