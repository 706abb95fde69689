"""What the core needs from the approval system's side: a way to post it a signed callback."""

from __future__ import annotations

from typing import Protocol


class CallbackSender(Protocol):
    """POSTs a body to the approval system; returns the HTTP status, raises OSError when unreachable."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...
