"""GETs pages of completed cases from the approval system (pull intake): the only I/O of the poller."""

from __future__ import annotations

import aiohttp
from yarl import URL

from logistics.service.pull import PageTooLarge


class HttpPageSource:
    """Open it in the application's cleanup context; a session belongs to the running loop."""

    def __init__(self, timeout_s: float = 30.0, max_bytes: int = 64 * 1024 * 1024):
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, bytes]:
        if self._session is None:
            raise ConnectionError("page source is not open")
        target = URL(url).update_query(params)  # keeps a query the configured URL already has
        try:
            async with self._session.get(target, headers=headers, allow_redirects=False) as response:
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
