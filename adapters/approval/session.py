"""The one aiohttp session an approval-system client keeps between calls."""

from __future__ import annotations

import aiohttp


class ApprovalSession:
    """Open it in the application's cleanup context; a session belongs to the running loop."""

    def __init__(self, timeout_s: float):
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=self.timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def session(self, what: str) -> aiohttp.ClientSession:
        if self._session is None:
            raise ConnectionError(f"{what} is not open")
        return self._session
