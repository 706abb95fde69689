"""Village proxy points (村级代办点): the certificates addressed to each point, the point's handover
list, and delivery confirmed by the point's clerk (a move to delivered with its audit event)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ..domain.cause import Cause
from ..domain.errors import InvalidInput
from ..domain.model import Dispatch
from ..domain.status import Status
from ..domain.validation import text_problem
from ..ports import UnitOfWork
from .dispatches import move, note

# On its way to the point, or there: the clerk may confirm these.
AT_OR_TO_POINT = frozenset(
    {Status.HANDED_OVER, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED}
)
OPEN = AT_OR_TO_POINT | {
    Status.RECEIVED,
    Status.BOOKING,
    Status.BOOKED,
    Status.LABEL_PRINTED,
    Status.BOOKING_FAILED,
}


@dataclass
class Point:
    code: str
    towns: set[str] = field(default_factory=set)
    by_status: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def to_confirm(self) -> int:
        return sum(n for s, n in self.by_status.items() if Status(s) in AT_OR_TO_POINT)

    @property
    def open(self) -> int:
        return sum(n for s, n in self.by_status.items() if Status(s) in OPEN)


@dataclass
class Confirmed:
    delivered: list[Dispatch] = field(default_factory=list)
    skipped: list[Dispatch] = field(default_factory=list)


async def points(uow: UnitOfWork) -> list[Point]:
    async with uow:
        listed = await uow.console.village_point_dispatches()
    found: dict[str, Point] = {}
    for d in listed:
        point = found.setdefault(d.village_point_code or "—", Point(d.village_point_code or "—"))
        point.by_status[d.status.value] += 1
        if d.address.town:
            point.towns.add(d.address.town)
    return sorted(found.values(), key=lambda p: (-p.open, p.code))


async def of_point(uow: UnitOfWork, code: str) -> list[Dispatch]:
    async with uow:
        return await _of_point(uow, code)


async def _of_point(uow: UnitOfWork, code: str) -> list[Dispatch]:
    return [d for d in await uow.console.village_point_dispatches() if d.village_point_code == code]


async def confirm(
    uow: UnitOfWork, code: str, ids: list[str], *, clerk: str, actor: str, now: datetime
) -> Confirmed:
    """The point's clerk confirms these certificates reached their applicants: → delivered, audited."""
    clerk = (clerk or "").strip()
    if not clerk or len(clerk) > 40:
        raise InvalidInput([("clerk", "请填写代办点经办人姓名（最多 40 字）")])
    if problem := text_problem(clerk):
        raise InvalidInput([("clerk", problem)])
    if not ids:
        raise InvalidInput([("ids", "请至少选择一件证照")])
    result = Confirmed()
    async with uow:
        mine = {d.id: d for d in await _of_point(uow, code)}
        unknown = [(f"ids.{n}", "不是该代办点的证照") for n, i in enumerate(ids) if i not in mine]
        if unknown:
            raise InvalidInput(unknown)
        for dispatch_id in ids:
            d = mine[dispatch_id]
            detail = {"village_point_code": code, "clerk": clerk}
            if d.status in AT_OR_TO_POINT:
                after = await move(
                    uow,
                    d,
                    Status.DELIVERED,
                    at=now,
                    actor=actor,
                    cause=Cause.DELIVERED_AT_VILLAGE_POINT,
                )
                await note(
                    uow, after, at=now, actor=actor, cause=Cause.VILLAGE_POINT_CLERK_CONFIRMED, **detail
                )
                result.delivered.append(after)
            elif d.status is Status.DELIVERED:
                await note(uow, d, at=now, actor=actor, cause=Cause.VILLAGE_POINT_CLERK_CONFIRMED, **detail)
                result.delivered.append(d)
            else:
                result.skipped.append(d)
    return result
