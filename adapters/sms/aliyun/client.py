"""Alibaba Cloud SMS (dysmsapi SendSms) as a Notifier: the only I/O of this adapter, one bounded
attempt per call (the job that sends the message retries)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp

from logistics.ports import SmsUnavailable

from .mapping import AliyunSmsSettings, parse_send_response, send_request


class AliyunSmsNotifier:
    name = "aliyun"

    def __init__(
        self,
        settings: AliyunSmsSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.settings = settings
        self._session = session
        self._own_session = session is None
        self._now = now

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:  # made lazily: a session belongs to the running loop
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.settings.timeout_s / 2)
            )
        return self._session

    async def send(self, phone: str, template: str, params: dict, *, key: str) -> str:
        """Send one message; `key` (our notice id) is its OutId. Returns the provider's BizId."""
        form = send_request(
            self.settings, phone, template, params, out_id=key, now=self._now(), nonce=str(uuid.uuid4())
        )
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                async with self._http().post(self.settings.endpoint, data=form) as response:
                    status, body = response.status, await response.read()
        except TimeoutError:
            raise SmsUnavailable(f"no answer within {self.settings.timeout_s:g} s", code="timeout") from None
        except aiohttp.ClientError as e:
            raise SmsUnavailable(f"not reachable: {type(e).__name__}", code="unreachable") from None
        if status >= 500:
            raise SmsUnavailable(f"HTTP {status}", code=f"http_{status}")
        return parse_send_response(status, body, throttle_retry_s=self.settings.throttle_retry_s)

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
