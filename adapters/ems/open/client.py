"""The EMS open-platform gateway: the only I/O of this adapter, one bounded attempt per call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import aiohttp

from adapters.common import http
from logistics.domain.model import Address
from logistics.ports import Booking, CarrierUnavailable, NotSupported, Quote, Shipment, TrackEvent

from ..mapping import china_now
from . import mapping
from .settings import EmsOpenSettings

T = TypeVar("T")


class EmsOpenGateway:
    """CarrierGateway over the EMS open platform (form POST, SM4-sealed JSON)."""

    name = "ems_open"

    def __init__(
        self,
        settings: EmsOpenSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        now: Callable[[], datetime] = china_now,
    ):
        self.settings = settings
        self._now = now
        self._own_session = session is None
        self._session = session

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:  # made lazily: a session belongs to the running loop
            self._session = http.new_session(self.settings.timeout_s)
        return self._session

    async def _call(self, api_code: str, payload: dict, parse: Callable[[bytes], T]) -> T:
        form = mapping.envelope(api_code, payload, self.settings, self._now())
        reply = await http.post(
            self._http(), self.settings.endpoint, data=form, timeout_s=self.settings.timeout_s
        )
        http.check_status(reply)
        try:
            return parse(reply.body)
        except CarrierUnavailable as exc:  # a "busy" retCode may come with a Retry-After header
            exc.retry_after = exc.retry_after or http.retry_after_seconds(reply.headers)
            raise

    async def book(self, shipment: Shipment) -> Booking:
        payload = mapping.create_order_request(shipment, self.settings, self._now())
        return await self._call(mapping.CREATE_ORDER, payload, mapping.parse_create_order_response)

    async def find_booking(self, order_no: str) -> Booking | None:
        payload = mapping.order_query_request(order_no)
        return await self._call(mapping.ORDER_QUERY, payload, mapping.parse_order_query_response)

    async def cancel(self, order_no: str, waybill_no: str | None, reason: str) -> None:
        payload = mapping.cancel_request(order_no, waybill_no, reason)
        await self._call(mapping.CANCEL_ORDER, payload, mapping.parse_cancel_response)

    async def track(self, waybill_no: str) -> list[TrackEvent]:
        return await self._call(
            mapping.TRACE, mapping.trace_request(waybill_no), mapping.parse_trace_response
        )

    async def allocate_numbers(self, count: int) -> list[str]:
        raise NotSupported("the EMS open platform has no waybill number allocation")

    async def report_print_data(self, shipment: Shipment) -> None:
        raise NotSupported("the EMS open platform takes no print-data report")

    async def quote(self, shipment: Shipment) -> Quote:
        payload = mapping.postage_request(shipment, self.settings)
        return await self._call(mapping.POSTAGE, payload, mapping.parse_postage_response)

    async def check_reachable(self, address: Address) -> bool:
        payload = mapping.reachability_request(address)
        return await self._call(mapping.REACHABILITY, payload, mapping.parse_reachability_response)

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> EmsOpenGateway:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
