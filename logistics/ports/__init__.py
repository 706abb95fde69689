"""What the core needs from the outside world: carriers, SMS, the clock, and a unit of work over its
repositories. Adapters and storage implement these; use-case tests pass fakes."""

from .carrier import (
    Booking,
    CarrierAuthError,
    CarrierError,
    CarrierGateway,
    CarrierRejected,
    CarrierThrottled,
    CarrierUnavailable,
    CarrierUnreachable,
    CircuitOpen,
    Clock,
    Notifier,
    NotSupported,
    OutcomeUnknown,
    Quote,
    Shipment,
    TrackEvent,
    is_wait,
)
from .unit_of_work import UnitOfWork, UnitOfWorkFactory, Writes

__all__ = [
    "Booking",
    "CarrierAuthError",
    "CarrierError",
    "CarrierGateway",
    "CarrierRejected",
    "CarrierThrottled",
    "CarrierUnavailable",
    "CarrierUnreachable",
    "CircuitOpen",
    "Clock",
    "NotSupported",
    "Notifier",
    "OutcomeUnknown",
    "Quote",
    "Shipment",
    "TrackEvent",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "Writes",
    "is_wait",
]  # fmt: skip
