"""A dispatch: one case's certificates on their way to one recipient (or, inbound, to the hall)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from .cause import Cause, ScanRef, recorded_cause
from .status import Status, check_transition

DEFAULT_HALL = "default"
"""The hall a dispatch belongs to when none is named (logistics.domain.hall re-exports it)."""


class Direction(StrEnum):
    OUTBOUND = "outbound"  # mail the result to the applicant (EMS orderType 2)
    INBOUND = "inbound"  # collect the applicant's paper materials (EMS orderType 1)


class DeliveryMethod(StrEnum):
    MAIL = "mail"
    VILLAGE_POINT = "village_point"
    PICKUP = "pickup"


@dataclass(frozen=True)
class Party:
    name: str
    phone: str


@dataclass(frozen=True)
class Address:
    province: str
    city: str
    county: str
    detail: str
    postcode: str
    town: str = ""


@dataclass(frozen=True)
class Item:
    kind: str
    title: str
    number: str = ""
    copies: int = 1


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One line of the append-only audit trail (留痕)."""

    at: datetime
    actor: str
    cause: Cause  # read back from the trail, a cause that is no member (an older row's) keeps its text
    from_status: Status | None
    to_status: Status | None
    detail: dict = field(default_factory=dict)
    scan: ScanRef | None = None  # the carrier scan of a CARRIER_SCAN move

    @property
    def recorded_cause(self) -> str:
        """The cause as the trail stores it and the API shows it."""
        return recorded_cause(self.cause, self.scan)


@dataclass(frozen=True, slots=True)
class Dispatch:
    """A value: change it with `moved` or `dataclasses.replace`."""

    id: str
    client_id: str
    case_no: str
    matter_name: str
    matter_code: str
    department_code: str
    department_name: str
    direction: Direction
    delivery_method: DeliveryMethod
    recipient: Party
    address: Address
    items: tuple[Item, ...]
    weight_g: int
    declared_value_fen: int
    completed_at: datetime
    created_at: datetime
    status: Status = Status.RECEIVED
    village_point_code: str | None = None
    order_no: str = ""
    waybill_no: str | None = None
    reason: str = ""
    updated_at: datetime | None = None
    hall: str = DEFAULT_HALL  # the code of the hall (政务服务中心) it belongs to

    @property
    def needs_carrier(self) -> bool:
        return self.delivery_method is not DeliveryMethod.PICKUP or self.direction is Direction.INBOUND

    def moved(
        self, to: Status, *, at: datetime, actor: str, cause: Cause, scan: ScanRef | None = None, **changes
    ) -> tuple[Dispatch, AuditEvent]:
        """The dispatch in its new status and the audit event that records the move."""
        check_transition(self.status, to)
        event = AuditEvent(at, actor, cause, self.status, to, dict(changes), scan)
        return replace(self, status=to, updated_at=at, **changes), event


def order_no_for(dispatch_id: str, direction: Direction) -> str:
    """Our own order number, sent to the carrier as its idempotency handle (MAT… collect, RES… result)."""
    prefix = "MAT" if direction is Direction.INBOUND else "RES"
    return prefix + dispatch_id.replace("-", "")[:24].upper()
