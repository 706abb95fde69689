"""A zeep transport over aiohttp: one bounded attempt per call, and no envelope logging.

zeep's own AsyncTransport needs httpx and logs whole envelopes (personal data) at DEBUG."""

from __future__ import annotations

import aiohttp
import requests
from zeep.transports import Transport
from zeep.wsdl.utils import etree_to_string

from adapters.common import http


class AiohttpTransport(Transport):
    def __init__(self, timeout_s: float, session: aiohttp.ClientSession | None = None):
        super().__init__(operation_timeout=timeout_s)
        self._aio = session
        self._own_aio = session is None

    def _http(self) -> aiohttp.ClientSession:
        if self._aio is None:  # made lazily: a session belongs to the running loop
            self._aio = http.new_session(self.operation_timeout)
        return self._aio

    async def post_xml(self, address, envelope, headers):
        message = etree_to_string(envelope)
        reply = await http.post(
            self._http(), address, data=message, headers=headers, timeout_s=self.operation_timeout
        )
        if reply.status == 429:  # a throttle, whatever fault the body carries
            raise http.throttled(reply)
        response = requests.Response()
        response._content = reply.body
        response.status_code = reply.status
        response.headers.update(reply.headers)
        response.encoding = "utf-8"
        return response

    def _load_remote_data(self, url):
        raise RuntimeError("the WSDL is read from the repository, never fetched")

    async def aclose(self) -> None:
        if self._own_aio and self._aio is not None:
            await self._aio.close()
            self._aio = None
        self.session.close()
