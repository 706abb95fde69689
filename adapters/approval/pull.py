"""GETs pages of completed cases from the approval system (pull intake): the only I/O of the poller."""

from __future__ import annotations

import aiohttp
from yarl import URL

from logistics.service.pull import PageTooLarge

from .session import ApprovalSession


class HttpPageSource(ApprovalSession):
    def __init__(self, timeout_s: float = 30.0, max_bytes: int = 64 * 1024 * 1024):
        super().__init__(timeout_s)
        self.max_bytes = max_bytes

    async def get(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, bytes]:
        session = self.session("page source")
        target = URL(url).update_query(params)  # keeps a query the configured URL already has
        try:
            async with session.get(target, headers=headers, allow_redirects=False) as response:
                return response.status, await self._read(response)
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ConnectionError(type(e).__name__) from None

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        if (response.content_length or 0) > self.max_bytes:
            raise PageTooLarge()
        chunks, size = [], 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise PageTooLarge()
            chunks.append(chunk)
        return b"".join(chunks)
