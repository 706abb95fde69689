"""The EMS WebService gateway: zeep over the repository's WSDL, one bounded attempt per call."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import aiohttp
import zeep
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError, ValidationError
from zeep.proxy import AsyncServiceProxy

from logistics.domain.model import Address
from logistics.ports import (
    Booking,
    CarrierError,
    CarrierRejected,
    CarrierUnavailable,
    NotSupported,
    Quote,
    Shipment,
    TrackEvent,
)

from ..mapping import china_now
from . import WSDL_PATH, mapping
from .settings import EmsSoapSettings
from .transport import AiohttpTransport


def soap_client(timeout_s: float, session: aiohttp.ClientSession | None = None) -> zeep.AsyncClient:
    """zeep on the repository's WSDL: DTDs forbidden, no history plugin, every call bounded."""
    settings = zeep.Settings(forbid_dtd=True, forbid_entities=True, forbid_external=True, strict=True)
    transport = AiohttpTransport(timeout_s, session)
    return zeep.AsyncClient(str(WSDL_PATH), transport=transport, settings=settings)


@contextmanager
def _carrier_errors():
    """zeep's failures as carrier errors; ours pass through."""
    try:
        yield
    except CarrierError:
        raise
    except Fault as fault:
        raise mapping.error_from_fault(fault) from None
    except TransportError as exc:
        raise CarrierUnavailable(
            f"EMS WebService answered HTTP {exc.status_code}", code=str(exc.status_code)
        ) from None
    except ValidationError as exc:
        raise CarrierRejected(f"request does not fit the WSDL: {exc.message}") from None
    except ZeepError:
        raise CarrierUnavailable("EMS WebService reply is not valid for the WSDL") from None


class EmsSoapGateway:
    """CarrierGateway over the provincial EMS WebService (SOAP 1.1, document/literal)."""

    name = "ems_soap"

    def __init__(
        self,
        settings: EmsSoapSettings,
        *,
        session: aiohttp.ClientSession | None = None,
        now: Callable[[], datetime] = china_now,
    ):
        self.settings = settings
        self._now = now
        self.client = soap_client(settings.timeout_s, session)
        self.service = AsyncServiceProxy(
            self.client, self.client.wsdl.bindings[mapping.BINDING], address=settings.endpoint
        )

    async def _call(self, operation: str, params: dict) -> Any:
        with _carrier_errors():
            return await getattr(self.service, operation)(**params)

    async def book(self, shipment: Shipment) -> Booking:
        params = mapping.create_order_params(shipment, self.settings, self._now())
        return mapping.parse_create_order_response(await self._call("createOrder", params))

    async def find_booking(self, order_no: str) -> Booking | None:
        params = mapping.query_order_params(order_no, self.settings, self._now())
        return mapping.parse_query_order_response(await self._call("queryOrder", params))

    async def cancel(self, order_no: str, waybill_no: str | None, reason: str) -> None:
        params = mapping.cancel_order_params(order_no, waybill_no, reason, self.settings, self._now())
        mapping.parse_result(await self._call("cancelOrder", params))

    async def track(self, waybill_no: str) -> list[TrackEvent]:
        params = mapping.query_trace_params(waybill_no, self.settings, self._now())
        return mapping.parse_query_trace_response(await self._call("queryTrace", params))

    async def allocate_numbers(self, count: int) -> list[str]:
        params = mapping.bill_numbers_params(count, self.settings, self._now())
        return mapping.parse_bill_numbers_response(await self._call("getBillNumBySys", params))

    async def report_print_data(self, shipment: Shipment) -> None:
        params = mapping.print_data_params(shipment, self.settings, self._now())
        mapping.parse_result(await self._call("updatePrintDatas", params))

    async def quote(self, shipment: Shipment) -> Quote:
        raise NotSupported("the EMS WebService has no postage estimate")

    async def check_reachable(self, address: Address) -> bool:
        params = mapping.collection_range_params(address, self.settings, self._now())
        return mapping.parse_collection_range_response(await self._call("checkCollectionRange", params))

    async def close(self) -> None:
        await self.client.transport.aclose()

    async def __aenter__(self) -> EmsSoapGateway:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
