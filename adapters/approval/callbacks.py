"""POSTs signed callbacks to the approval system: the only I/O of the callback use case."""

from __future__ import annotations

import aiohttp


class HttpCallbackSender:
    """Open it in the application's cleanup context; a session belongs to the running loop."""

    def __init__(self, timeout_s: float = 10.0):
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        if self._session is None:
            raise ConnectionError("callback sender is not open")
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise ConnectionError(type(e).__name__) from None
