"""Carriers, SMS and the clock as the core sees them. Adapters implement these; tests pass fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..domain.model import Address, Party
from ..domain.status import Status


class Clock(Protocol):
    def now(self) -> datetime: ...


# ---- carriers -------------------------------------------------------------------------------


class CarrierError(Exception):
    """Base for carrier failures. `transient` says whether trying again later may succeed."""

    transient = False

    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class CarrierUnavailable(CarrierError):
    """Network error, 5xx, busy, 429: nothing happened, or we cannot know; try again later."""

    transient = True


class CarrierUnreachable(CarrierUnavailable):
    """The request never reached the carrier (no connection, circuit open): certainly nothing happened."""


class CircuitOpen(CarrierUnreachable):
    """Our circuit breaker holds calls back while the carrier keeps failing: nothing was sent.
    `retry_after` is when a call may go again."""


class CarrierThrottled(CarrierUnavailable):
    """The carrier asks us to slow down (HTTP 429, or its "busy" reply): not a fault, try again after
    `retry_after`. `refused` is True when the answer guarantees nothing was done (HTTP 429)."""

    def __init__(self, message: str, *, code: str = "", retry_after: float | None = None, refused=False):
        super().__init__(message, code=code, retry_after=retry_after)
        self.refused = refused


def is_wait(error: BaseException) -> bool:
    """A failure that is no fault of the call: the carrier asked us to slow down, or the carrier's circuit
    is open (the breaker refused the call, or this failure opened it). Jobs wait for the carrier without
    spending an attempt on it."""
    return isinstance(error, CarrierThrottled | CircuitOpen) or getattr(error, "circuit_open", False)


class OutcomeUnknown(CarrierUnavailable):
    """The request may have been carried out (timeout after sending): look it up before retrying."""


class CarrierRejected(CarrierError):
    """A business error (bad address, unreachable area, bad phone): retrying unchanged will not help."""


class CarrierAuthError(CarrierError):
    """Bad credentials or signature: staff must fix the configuration."""


class NotSupported(CarrierError):
    """This carrier protocol has no such operation."""


@dataclass(frozen=True)
class Shipment:
    """What a carrier needs to book one parcel."""

    order_no: str
    order_type: int  # 1 collect the applicant's materials, 2 deliver the result
    sender: Party
    sender_address: Address
    receiver: Party
    receiver_address: Address
    weight_g: int
    declared_value_fen: int
    contents: str
    waybill_no: str | None = None  # a number from our pre-allocated pool, if one was assigned


@dataclass(frozen=True)
class Booking:
    order_no: str
    waybill_no: str


@dataclass(frozen=True)
class TrackEvent:
    """One carrier scan, normalized; the raw code and text are kept."""

    waybill_no: str
    time: datetime
    status: Status
    raw_code: str
    description: str
    location: str = ""
    reason: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Quote:
    total_fen: int
    standard_fen: int


class CarrierGateway(Protocol):
    """One carrier protocol. An operation it lacks raises NotSupported."""

    name: str

    async def book(self, shipment: Shipment) -> Booking: ...

    async def find_booking(self, order_no: str) -> Booking | None:
        """The booking made under our order number, if the carrier holds one."""
        ...

    async def cancel(self, order_no: str, waybill_no: str | None, reason: str) -> None: ...

    async def track(self, waybill_no: str) -> list[TrackEvent]: ...

    async def allocate_numbers(self, count: int) -> list[str]: ...

    async def report_print_data(self, shipment: Shipment) -> None: ...

    async def quote(self, shipment: Shipment) -> Quote: ...

    async def check_reachable(self, address: Address) -> bool: ...

    async def close(self) -> None: ...


class Notifier(Protocol):
    """SMS or similar to the applicant. `key` makes a message idempotent (and is the provider's OutId,
    so its delivery receipt finds the notice); the provider's own id of the message is returned, if any.
    Failures raise `ports.sms.SmsError` subclasses."""

    async def send(self, phone: str, template: str, params: dict, *, key: str) -> str | None: ...

    # optional: `was_sent(phone, key, at) -> bool` tells whether the message sent under `key` around `at`
    # reached the provider (asked after an attempt whose answer was lost)
