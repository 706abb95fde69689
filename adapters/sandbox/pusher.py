"""Pushes 040002 scans to subscribers, retrying while a receiver does not answer code "00000"."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

import aiohttp

from adapters.ems import codes
from adapters.ems.crypto import seal
from adapters.ems.mapping import ems_time
from adapters.ems.open import mapping as m

from .scans import Scan
from .state import Order, SandboxState

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


class Pusher:
    def __init__(
        self,
        state: SandboxState,
        *,
        sign_key: str,
        sender_no: str,
        now: Callable[[], datetime],
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
        timeout_s: float = 5.0,
    ):
        self.state, self.sign_key, self.sender_no, self._now = state, sign_key, sender_no, now
        self.retry_delays_s, self.timeout_s = tuple(retry_delays_s), timeout_s
        self.session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()

    def message(self, item: dict) -> dict:
        return {
            "logitcsInterface": seal(json.dumps(item, ensure_ascii=False), self.sign_key),
            "method": m.TRACE_PUSH,
            "msgType": "0",
            "senderNo": self.sender_no,
            "serialNo": uuid.uuid4().hex,
            "timeStamp": ems_time(self._now()),
            "version": m.VERSION,
        }

    def push(self, order: Order, scans: list[Scan], item: Callable[[Order, Scan], dict]) -> None:
        """Deliver the scans in order to every subscriber, in the background."""
        if not scans or self.session is None:
            return
        messages = [self.message(item(order, scan)) for scan in scans]
        for url in list(self.state.subscribers):
            task = asyncio.create_task(self._deliver_all(url, messages))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver_all(self, url: str, messages: list[dict]) -> None:
        for message in messages:
            await self._deliver(url, message)

    async def _deliver(self, url: str, message: dict) -> None:
        attempts, delivered = 0, False
        for delay in (0.0, *self.retry_delays_s):
            await asyncio.sleep(delay)
            attempts += 1
            delivered = await self._attempt(url, message)
            if delivered:
                break
        else:
            log.warning("push %s gave up after %d attempts", message["serialNo"], attempts)
        entry = {"url": url, "serial_no": message["serialNo"], "attempts": attempts, "delivered": delivered}
        self.state.log_push(entry)

    async def _attempt(self, url: str, message: dict) -> bool:
        assert self.session is not None
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self.session.post(url, json=message) as response:
                    answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return False
        return isinstance(answer, dict) and answer.get("code") == codes.SUCCESS

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.session is not None:
            await self.session.close()
