"""Printing labels and handover manifests, and what printing means for a dispatch's status.

The renderers are passed in as plain callables (the web layer binds them to the hall's origin), so the
core never imports reportlab. Rendering runs in a worker thread; the audit is written afterwards in
one transaction, so a batch is recorded all or nothing."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from ..domain.cause import Cause
from ..domain.china_time import CHINA
from ..domain.errors import Conflict, InvalidInput
from ..domain.model import DEFAULT_HALL, Dispatch
from ..domain.status import BOOKED_OR_LATER, Status
from ..ports import UnitOfWork, UnitOfWorkFactory
from . import village_points
from .dispatches import load, move, note

Render = Callable[..., bytes | str]
"""`render(dispatches)`; for labels of parcels to village points `render(dispatches, points=...)` with
their points by (hall, code), which a label is addressed to instead of the citizen's home."""

MAX_BATCH = 500
_RACE_RETRIES = 3
READY_FOR_HANDOVER = frozenset({Status.BOOKED, Status.LABEL_PRINTED})
PAST_HANDOVER = BOOKED_OR_LATER - READY_FOR_HANDOVER


class NotBooked(Conflict):
    """Some dispatches have no waybill number or were cancelled: nothing was printed or recorded."""

    def __init__(self, refused: Sequence[Dispatch]):
        listed = "、".join(f"{d.case_no}（{d.status.value}）" for d in refused)
        super().__init__(f"以下寄递单尚未取得运单号或已取消 (not booked or cancelled): {listed}")
        self.refused = list(refused)


@dataclass(frozen=True)
class Manifest:
    manifest_id: str
    content: bytes
    dispatches: list[Dispatch]


@dataclass(frozen=True)
class Handover:
    manifest_id: str | None
    handed_over: list[Dispatch] = field(default_factory=list)
    skipped: list[Dispatch] = field(default_factory=list)


# ---- labels -------------------------------------------------------------------------------------


async def print_label(
    new_uow: UnitOfWorkFactory, dispatch_id: str, render: Render, *, actor: str, now: datetime
) -> bytes | str:
    """One label (PDF or ZPL); NotFound for an unknown id."""
    async with new_uow(read_only=True) as uow:
        d = await load(uow, dispatch_id)
    return await _print(new_uow, [d], render, actor=actor, now=now)


async def print_labels(
    new_uow: UnitOfWorkFactory, ids: Sequence[str], render: Render, *, actor: str, now: datetime
) -> bytes | str:
    """Labels for `ids` in the given order; unknown ids are bad input naming their position."""
    found = await load_ordered(new_uow(read_only=True), ids)
    return await _print(new_uow, found, render, actor=actor, now=now)


async def _print(
    new_uow: UnitOfWorkFactory, found: list[Dispatch], render: Render, *, actor: str, now: datetime
) -> bytes | str:
    refuse_not_booked(found)
    async with new_uow(read_only=True) as uow:
        points = await village_points.points_of(uow, found)
    render = partial(render, points=points) if points else render
    content = await asyncio.to_thread(render, found)
    await _in_transaction(new_uow, _record_printed, [d.id for d in found], actor=actor, now=now)
    return content


async def _record_printed(uow: UnitOfWork, ids: list[str], *, actor: str, now: datetime) -> None:
    """First print moves booked → label_printed; any later print is a reprint audit line."""
    for d in await _current(uow, ids):
        if d.status is Status.BOOKED:
            await move(uow, d, Status.LABEL_PRINTED, at=now, actor=actor, cause=Cause.LABEL_PRINTED)
        else:
            await note(uow, d, at=now, actor=actor, cause=Cause.LABEL_REPRINTED)


# ---- handover manifests -------------------------------------------------------------------------


def new_manifest_id(now: datetime, hall: str = DEFAULT_HALL) -> str:
    """MF, the hall's date (China time, as printed on the sheet), the hall's code (but the default
    hall's, as before halls), a random part: two halls' manifest numbers never collide."""
    code = "" if hall == DEFAULT_HALL else f"{hall.upper()}-"
    return f"MF{now.astimezone(CHINA):%Y%m%d}-{code}{secrets.token_hex(4).upper()}"


def one_hall(found: Sequence[Dispatch]) -> str:
    """The hall of a manifest's dispatches; InvalidInput when they belong to several (each hall hands
    over its own parcels, on a sheet with its own name)."""
    codes = sorted({d.hall for d in found})
    if len(codes) > 1:
        listed = ", ".join(codes)
        message = f"一张交接清单只能包含一个大厅的寄递单 (one hall per manifest: {listed})"
        raise InvalidInput([("ids", message)])
    return codes[0]


async def print_manifest(
    new_uow: UnitOfWorkFactory,
    ids: Sequence[str],
    render: Render,
    *,
    courier: str,
    actor: str,
    now: datetime,
) -> Manifest:
    """The 交接清单 for `ids`; each dispatch gets an audit line naming the manifest."""
    found = await load_ordered(new_uow(read_only=True), ids)
    hall = one_hall(found)
    refuse_not_booked(found)
    async with new_uow(read_only=True) as uow:
        points = await village_points.points_of(uow, found)
    render = partial(render, points=points) if points else render
    content = await asyncio.to_thread(render, found)
    manifest_id = new_manifest_id(now, hall)

    async def record(uow: UnitOfWork) -> None:
        for d in await _current(uow, [d.id for d in found]):
            detail = {"manifest_id": manifest_id, "courier": courier}
            await note(uow, d, at=now, actor=actor, cause=Cause.MANIFEST_PRINTED, **detail)

    await _in_transaction(new_uow, record)
    return Manifest(manifest_id, content, found)


async def confirm_handover(
    new_uow: UnitOfWorkFactory,
    ids: Sequence[str],
    *,
    courier: str,
    manifest_id: str | None,
    actor: str,
    now: datetime,
) -> Handover:
    """The courier took the parcels: booked / label_printed → handed_over; later ones are skipped."""
    await load_ordered(new_uow(read_only=True), ids)

    async def record(uow: UnitOfWork) -> Handover:
        result = Handover(manifest_id)
        detail = {"courier": courier, **({"manifest_id": manifest_id} if manifest_id else {})}
        for d in await _current(uow, list(ids)):
            if d.status in PAST_HANDOVER:
                result.skipped.append(d)
                continue
            after = await move(uow, d, Status.HANDED_OVER, at=now, actor=actor, cause=Cause.HANDED_OVER)
            await note(uow, after, at=now, actor=actor, cause=Cause.HANDOVER_CONFIRMED, **detail)
            result.handed_over.append(after)
        return result

    return await _in_transaction(new_uow, record)


# ---- shared -------------------------------------------------------------------------------------


def check_batch(ids: Sequence[str]) -> None:
    """A batch names each dispatch once and holds at most MAX_BATCH of them."""
    if not ids:
        raise InvalidInput([("ids", "至少需要一个寄递单 (at least one id)")])
    if len(ids) > MAX_BATCH:
        raise InvalidInput([("ids", f"一次最多 {MAX_BATCH} 个寄递单 (at most {MAX_BATCH} ids)")])
    seen: set[str] = set()
    repeated = []
    for n, dispatch_id in enumerate(ids):
        if dispatch_id in seen:
            repeated.append((f"ids.{n}", "寄递单重复 (duplicate id)"))
        seen.add(dispatch_id)
    if repeated:
        raise InvalidInput(repeated)


async def load_ordered(uow: UnitOfWork, ids: Sequence[str]) -> list[Dispatch]:
    """The dispatches in the order of `ids`; InvalidInput naming `ids.N` for every unknown one."""
    check_batch(ids)
    async with uow:
        found = {d.id: d for d in await uow.dispatches.get_many(list(ids))}
    unknown = [(f"ids.{n}", "没有这个寄递单 (no such dispatch)") for n, i in enumerate(ids) if i not in found]
    if unknown:
        raise InvalidInput(unknown)
    return [found[i] for i in ids]


def refuse_not_booked(found: Sequence[Dispatch]) -> None:
    refused = [d for d in found if not d.waybill_no or d.status not in BOOKED_OR_LATER]
    if refused:
        raise NotBooked(refused)


async def _current(uow: UnitOfWork, ids: list[str]) -> list[Dispatch]:
    """The dispatches as they are now, inside the recording transaction; all still printable."""
    by_id = {d.id: d for d in await uow.dispatches.get_many(ids)}
    current = [by_id[i] for i in ids if i in by_id]
    refuse_not_booked(current)
    return current


async def _in_transaction(new_uow: UnitOfWorkFactory, unit, *args, **kwargs):
    """Run `unit` in one transaction; retry when a concurrent writer moved a dispatch first."""
    for attempt in range(_RACE_RETRIES):
        try:
            async with new_uow() as uow:
                return await unit(uow, *args, **kwargs)
        except NotBooked:
            raise
        except Conflict:
            if attempt == _RACE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")
