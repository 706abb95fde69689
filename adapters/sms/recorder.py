"""A Notifier that records messages instead of sending them (simulator and tests).

Like a real SMS gateway with a client message id, it accepts a key once: a retried job whose first
attempt got through does not produce a second message."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from logistics.domain.masking import mask_phone, phone_last4
from logistics.domain.sms_text import render


class RecordingNotifier:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self._keys: set[str] = set()

    async def send(self, phone: str, template: str, params: dict, *, key: str) -> None:
        if key in self._keys:
            return
        self._keys.add(key)
        self.messages.append(
            {
                "key": key,
                "phone": mask_phone(phone),
                "phone_last4": phone_last4(phone),
                "template": template,
                "params": dict(params),
                "text": render(template, params),
                "at": datetime.now(UTC).isoformat(),
            }
        )

    async def was_sent(self, phone: str, key: str, at: datetime) -> bool:
        return key in self._keys


def sms_log_handler(notifier: RecordingNotifier):
    """GET handler listing what was "sent" (masked phones), for the simulator's control API."""

    async def sms_log(request: web.Request) -> web.Response:
        return web.json_response({"messages": notifier.messages})

    return sms_log
