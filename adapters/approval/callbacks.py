"""POSTs signed callbacks to the approval system: the only I/O of the callback use case."""

from __future__ import annotations

import aiohttp

from logistics.ports.approval import CallbackSender

from .session import ApprovalSession


class HttpCallbackSender(ApprovalSession, CallbackSender):
    def __init__(self, timeout_s: float = 10.0):
        super().__init__(timeout_s)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        session = self.session("callback sender")
        try:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ConnectionError(type(e).__name__) from None
