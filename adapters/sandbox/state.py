"""The simulator's memory: orders, parcels and their scans, waybill numbers, injected faults.

Every method is synchronous and holds one lock, so a call is atomic whether the simulator shares the
gateway's event loop or is driven from another thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.ems import codes
from adapters.ems.s10 import is_valid_waybill_no, make_waybill_no

from .scans import STAGES, Area, Scan, path_to, scans_for


class SimError(Exception):
    """A reply code the simulated carrier answers with instead of a result."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class StateConflict(Exception):
    """A control request that the parcel's state does not allow (e.g. advancing a cancelled order)."""


@dataclass
class Order:
    order_no: str
    waybill_no: str
    order_type: int
    created_at: datetime
    weight_g: int
    origin: Area
    destination: Area
    status: str = "created"
    scans: list[Scan] = field(default_factory=list)
    printed: bool = False

    def summary(self) -> dict:
        return {
            "order_no": self.order_no,
            "waybill_no": self.waybill_no,
            "order_type": self.order_type,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }


FAULT_MODES = frozenset({"timeout", "http_500", "busy", "malformed", "commit_then_timeout"})


@dataclass
class Fault:
    operation: str  # an operation name or "*"
    mode: str
    remaining: int


class SandboxState:
    def __init__(
        self,
        now: Callable[[], datetime],
        *,
        number_prefix: str = "11",
        number_suffix: str = "36",
        first_serial: int = 10_000_001,
        number_capacity: int = 9_000_000,
    ):
        self._now = now
        self._lock = threading.RLock()
        self._orders: dict[str, Order] = {}
        self._by_waybill: dict[str, Order] = {}
        self._pool: set[str] = set()  # allocated to the customer, not yet on an order
        self._prefix, self._suffix = number_prefix, number_suffix
        self._next_serial, self._last_serial = first_serial, first_serial + number_capacity - 1
        self._faults: list[Fault] = []
        self.subscribers: list[str] = []
        self.push_log: list[dict] = []

    # ---- waybill numbers ----

    def _issue(self, count: int) -> list[str]:
        if self._next_serial + count - 1 > self._last_serial:
            raise SimError(codes.NUMBERS_EXHAUSTED, "可用单号不足")
        serials = range(self._next_serial, self._next_serial + count)
        self._next_serial += count
        return [make_waybill_no(self._prefix, s, self._suffix) for s in serials]

    def allocate(self, count: int) -> list[str]:
        if not 1 <= count <= 100:
            raise SimError(codes.BAD_REQUEST, "billNoAmount 须在 1 到 100 之间")
        with self._lock:
            numbers = self._issue(count)
            self._pool.update(numbers)
            return numbers

    # ---- orders ----

    def create_order(
        self,
        order_no: str,
        order_type: int,
        weight_g: int,
        origin: Area,
        destination: Area,
        waybill_no: str | None = None,
    ) -> tuple[Order, bool]:
        """The order under `order_no` and whether it is new; a repeat returns the first one."""
        with self._lock:
            if order_no in self._orders:
                return self._orders[order_no], False
            if waybill_no:
                if not is_valid_waybill_no(waybill_no) or waybill_no not in self._pool:
                    raise SimError(codes.BAD_WAYBILL_NO, "运单号不可用：非本客户预分配或已使用")
                self._pool.discard(waybill_no)
            else:
                waybill_no = self._issue(1)[0]
            order = Order(order_no, waybill_no, order_type, self._now(), weight_g, origin, destination)
            self._orders[order_no] = order
            self._by_waybill[waybill_no] = order
            return order, True

    def find_order(self, order_no: str) -> Order:
        with self._lock:
            if order_no not in self._orders:
                raise SimError(codes.ORDER_NOT_FOUND, "订单不存在")
            return self._orders[order_no]

    def parcel(self, waybill_no: str) -> Order:
        with self._lock:
            if waybill_no not in self._by_waybill:
                raise SimError(codes.ORDER_NOT_FOUND, "邮件号不存在")
            return self._by_waybill[waybill_no]

    def cancel(self, order_no: str, waybill_no: str = "") -> Order:
        with self._lock:
            order = self.find_order(order_no)
            if waybill_no and waybill_no != order.waybill_no:
                raise SimError(codes.BAD_REQUEST, "订单号与邮件号不符")
            if order.status not in ("created", "cancelled"):
                raise SimError(codes.CANNOT_CANCEL, "邮件已收寄，不能撤单")
            order.status = "cancelled"
            return order

    def mark_printed(self, waybill_no: str) -> Order:
        with self._lock:
            order = self.parcel(waybill_no)
            order.printed = True
            return order

    def orders(self) -> list[dict]:
        with self._lock:
            return [order.summary() for order in self._orders.values()]

    def trace(self, waybill_no: str) -> tuple[Order, list[Scan]]:
        with self._lock:
            order = self.parcel(waybill_no)
            return order, list(order.scans)

    def advance(self, waybill_no: str, to: str) -> tuple[Order, list[Scan]]:
        """Emit the scans that take the parcel to stage `to`; the new scans are returned."""
        if to not in STAGES:
            raise StateConflict(f"unknown stage {to!r}")
        with self._lock:
            order = self.parcel(waybill_no)
            stages = path_to(order.status, to)
            if stages is None:
                raise StateConflict(f"parcel is {order.status}, cannot go to {to}")
            new = []
            for stage in stages:
                for scan in scans_for(stage, order.origin, order.destination):
                    at = self._now().replace(microsecond=0)  # EMS times have whole seconds
                    if order.scans and at <= order.scans[-1].time:
                        at = order.scans[-1].time + timedelta(seconds=1)
                    order.scans.append(scan.at(at))
                    new.append(order.scans[-1])
                order.status = stage
            return order, new

    # ---- faults and subscribers ----

    def add_fault(self, operation: str, mode: str, count: int) -> None:
        if mode not in FAULT_MODES or count < 1:
            raise StateConflict(f"unknown fault mode {mode!r} or count < 1")
        with self._lock:
            self._faults.append(Fault(operation, mode, count))

    def clear_faults(self) -> int:
        """Drop the faults still pending; how many there were."""
        with self._lock:
            pending, self._faults = len(self._faults), []
            return pending

    def take_fault(self, operation: str) -> str | None:
        """The fault the next call of `operation` suffers, consuming one of its count."""
        with self._lock:
            for fault in self._faults:
                if fault.operation in (operation, "*"):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault.mode
            return None

    def subscribe(self, url: str) -> None:
        with self._lock:
            if url not in self.subscribers:
                self.subscribers.append(url)

    def log_push(self, entry: dict) -> None:
        with self._lock:
            self.push_log.append(entry)
