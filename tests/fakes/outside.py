"""Fakes of the outside world for use-case tests: a clock that moves only when told, a carrier that
books once per order number and fails as scripted, and an approval system that answers as scripted.
SMS: `adapters.sms.recorder.RecordingNotifier` (one message per key, as a real gateway)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from logistics.ports import Booking, NotSupported, Shipment, TrackEvent
from tests.fixtures.dispatches import NOW


class FakeClock:
    def __init__(self, now: datetime = NOW):
        self.t = now

    def now(self) -> datetime:
        return self.t

    def advance(self, **delta: float) -> datetime:
        self.t += timedelta(**delta)
        return self.t


class FakeCarrier:
    """Holds the bookings made under each order number, as a real carrier does: a second `book` of one
    order number is a second booking (`bookings` shows it), which the core must never cause.

    `fail(operation, error, ...)` makes the next calls of an operation raise, before anything happens at
    the carrier; `refuse(order_no, error)` makes every `book` of that order raise so; `lose_answer(error)`
    makes the next `book` happen and then raise (a timeout after the request arrived)."""

    name = "fake"

    def __init__(self) -> None:
        self.bookings: list[str] = []  # order numbers, one per booking made
        self.shipments: dict[str, Shipment] = {}
        self.waybills: dict[str, str] = {}  # order number -> its (first) booking's waybill number
        self.lookups: list[str] = []
        self.cancels: list[tuple[str, str | None, str]] = []
        self.scans: dict[str, list[TrackEvent]] = {}
        self.numbers: list[str] = []  # what `allocate_numbers` hands out
        self._failures: dict[str, list[Exception]] = defaultdict(list)
        self._lost_answers: list[Exception] = []
        self._refused: dict[str, Exception] = {}

    def fail(self, operation: str, *errors: Exception) -> None:
        self._failures[operation].extend(errors)

    def refuse(self, order_no: str, error: Exception) -> None:
        self._refused[order_no] = error

    def lose_answer(self, error: Exception) -> None:
        self._lost_answers.append(error)

    def _maybe_fail(self, operation: str) -> None:
        if self._failures[operation]:
            raise self._failures[operation].pop(0)

    async def book(self, shipment: Shipment) -> Booking:
        self._maybe_fail("book")
        if shipment.order_no in self._refused:
            raise self._refused[shipment.order_no]
        self.bookings.append(shipment.order_no)
        self.shipments[shipment.order_no] = shipment  # the last one booked under the number
        waybill = shipment.waybill_no or f"11{len(self.bookings):011d}"
        self.waybills.setdefault(shipment.order_no, waybill)
        if self._lost_answers:
            raise self._lost_answers.pop(0)
        return Booking(shipment.order_no, waybill)

    async def find_booking(self, order_no: str) -> Booking | None:
        self.lookups.append(order_no)
        self._maybe_fail("find_booking")
        waybill = self.waybills.get(order_no)
        return Booking(order_no, waybill) if waybill else None

    async def cancel(self, order_no: str, waybill_no: str | None, reason: str) -> None:
        self._maybe_fail("cancel")
        self.cancels.append((order_no, waybill_no, reason))

    async def track(self, waybill_no: str) -> list[TrackEvent]:
        self._maybe_fail("track")
        return list(self.scans.get(waybill_no, []))

    async def allocate_numbers(self, count: int) -> list[str]:
        self._maybe_fail("allocate_numbers")
        given, self.numbers = self.numbers[:count], self.numbers[count:]
        return given

    async def report_print_data(self, shipment: Shipment) -> None:
        self._maybe_fail("report_print_data")

    async def quote(self, shipment: Shipment):
        raise NotSupported("the fake carrier gives no quotes")

    async def check_reachable(self, address) -> bool:
        return True

    async def close(self) -> None:
        pass


class FakeApprovalSystem:
    """A `CallbackSender` that records every post and answers with the scripted statuses (then 200);
    an OSError in the script is raised instead (unreachable)."""

    def __init__(self, *answers: int | OSError):
        self.answers = list(answers)
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.posts.append((url, body, dict(headers)))
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, OSError):
            raise answer
        return answer
