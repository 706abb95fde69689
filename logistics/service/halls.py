"""Halls (政务服务中心): adding one, and each hall's origin (the sender on labels and at the carrier,
the place tariff zones are judged from)."""

from __future__ import annotations

from datetime import datetime

from ..domain.errors import Conflict, InvalidInput
from ..domain.hall import DEFAULT_HALL, Hall
from ..ports import UnitOfWork
from .deps import Deps


class UnknownHall(InvalidInput):
    def __init__(self, code: str, field: str = "hall"):
        super().__init__([(field, f"没有编码为 {code} 的大厅 (no such hall)")])
        self.code = code


async def add(uow: UnitOfWork, hall: Hall, *, now: datetime) -> Hall:
    """Store a new hall (built by `domain.hall.hall_from_origin`); Conflict when its code is taken."""
    async with uow:
        if hall.code == DEFAULT_HALL or not await uow.halls.add(hall, now=now):
            raise Conflict(f"大厅编码 {hall.code} 已存在 (hall code taken)")
    return hall


async def listed(uow: UnitOfWork) -> list[Hall]:
    async with uow:
        return await uow.halls.list()


async def origins(uow: UnitOfWork) -> dict[str, Hall]:
    """{code: hall} of every hall, on an entered unit of work."""
    return {h.code: h for h in await uow.halls.list()}


async def existing(uow: UnitOfWork, code: str, field: str = "hall") -> Hall:
    """The hall, on an entered unit of work; UnknownHall (bad input naming `field`) if there is none."""
    hall = await uow.halls.get(code)
    if hall is None:
        raise UnknownHall(code, field)
    return hall


async def origin_of(deps: Deps, code: str) -> Hall:
    """A dispatch's hall, as its sender (the default hall's is CERTPOST_ORIGIN, read without a query)."""
    if code == DEFAULT_HALL:
        return deps.settings.origin
    async with deps.uow(read_only=True) as uow:
        return await existing(uow, code)
