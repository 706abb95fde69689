"""Alibaba Cloud SMS (dysmsapi SendSms) as a Notifier: the only I/O of this adapter, one bounded
attempt per call (the job that sends the message retries)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp

from logistics.ports import SmsUnavailable

from .mapping import (
    SENT_STATUSES,
    AliyunSmsSettings,
    parse_query_response,
    parse_send_response,
    query_request,
    send_request,
)


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
        status, body = await self._post(form)
        return parse_send_response(status, body, throttle_retry_s=self.settings.throttle_retry_s)

    async def was_sent(self, phone: str, key: str, at: datetime) -> bool:
        """Whether the provider took the message sent under OutId `key` at `at` (QuerySendDetails of
        that day: waiting for its receipt or delivered)."""
        page, seen = 1, 0
        while True:
            form = query_request(
                self.settings, phone, sent_on=at, now=self._now(), nonce=str(uuid.uuid4()), page=page
            )
            items, total = parse_query_response(*await self._post(form))
            if any(i.get("OutId") == key and i.get("SendStatus") in SENT_STATUSES for i in items):
                return True
            seen += len(items)
            if not items or seen >= total:
                return False
            page += 1

    async def _post(self, form: dict[str, str]) -> tuple[int, bytes]:
        """One bounded POST. Not connected: nothing was sent ("unreachable"); a lost answer may hide a
        message the provider took ("timeout": ask `was_sent` before sending again)."""
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                async with self._http().post(self.settings.endpoint, data=form) as response:
                    status, body = response.status, await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as e:
            raise SmsUnavailable(f"not reachable: {type(e).__name__}", code="unreachable") from None
        except TimeoutError:
            raise SmsUnavailable(f"no answer within {self.settings.timeout_s:g} s", code="timeout") from None
        except aiohttp.ClientError as e:
            raise SmsUnavailable(f"answer lost: {type(e).__name__}", code="timeout") from None
        if status >= 500:
            raise SmsUnavailable(f"HTTP {status}", code=f"http_{status}")
        return status, body

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
