"""Village proxy points (乡村代办点): each hall's registry (add, change, deactivate, import a list), the
parcels at or on their way to each point, and the figures per point for the console.

A parcel for a point is booked to the point's address (`domain.village.citizen_side`), waits there as
`awaiting_pickup` once the carrier reports it delivered to the point, and is handed to the citizen by
the point's clerk against the citizen's one-time pickup code (`village_clerk`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.model import Dispatch
from ..domain.status import Status
from ..domain.village import VillagePoint, for_point, point_from, point_json, point_problems, updated
from ..ports import UnitOfWork

# On its way to the point (the point's handover list), and waiting there for the citizen.
TO_POINT = frozenset(
    {Status.BOOKED, Status.LABEL_PRINTED, Status.HANDED_OVER, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY,
     Status.DELIVERY_FAILED}
)  # fmt: skip
AT_POINT = frozenset({Status.AWAITING_PICKUP})
OPEN = TO_POINT | AT_POINT | {Status.RECEIVED, Status.BOOKING, Status.BOOKING_FAILED}
MAX_IMPORT_ROWS = 2000
MAX_SHOWN = 12  # problems named in one refusal (the console shows them in one message)


@dataclass
class PointFigures:
    """A point of the registry (or a code only dispatches carry) with its parcels counted by status."""

    code: str
    point: VillagePoint | None = None
    by_status: Counter = field(default_factory=Counter)

    @property
    def name(self) -> str:
        return self.point.name if self.point else self.code

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def count(self, statuses: Iterable[Status]) -> int:
        return sum(self.by_status.get(s.value, 0) for s in statuses)

    @property
    def open(self) -> int:
        return self.count(OPEN)


def _audit_subject(hall: str, code: str) -> str:
    return f"{hall}/{code}"[:120]


# ---- the registry -------------------------------------------------------------------------------


async def register(
    uow: UnitOfWork, values: Mapping[str, object], *, hall: str, actor: str, now: datetime
) -> VillagePoint:
    """A new point of `hall`; InvalidInput naming the fields, Conflict when the hall has the code."""
    if problems := point_problems(values):
        raise InvalidInput(problems)
    point = point_from(values, hall=hall, now=now)
    async with uow:
        if not await uow.village_points.add(point):
            raise Conflict(f"代办点编码 {point.code} 已存在 (the hall already has this code)")
        await uow.console.audit(
            at=now, actor=actor, action="village_point.created", subject=_audit_subject(hall, point.code)
        )
    return point


async def get(uow: UnitOfWork, hall: str, code: str) -> VillagePoint:
    async with uow:
        return await _get(uow, hall, code)


async def _get(uow: UnitOfWork, hall: str, code: str) -> VillagePoint:
    point = await uow.village_points.get(hall, code)
    if point is None:
        raise NotFound("no such village point")
    return point


async def listed(uow: UnitOfWork, hall: str | None = None) -> list[VillagePoint]:
    async with uow:
        return await uow.village_points.list(hall)


async def change(
    uow: UnitOfWork, hall: str, code: str, values: Mapping[str, object], *, actor: str, now: datetime
) -> VillagePoint:
    """Change a point's details and/or its `active` flag (a deactivated point takes no new parcels; the
    ones on their way or waiting there are handed over as usual). A point left or made active is checked
    whole, as a new one is: InvalidInput naming each field still missing or wrong."""
    problems = point_problems(values, partial=True)
    if "active" in values and not isinstance(values["active"], bool):
        problems.append(("active", "应为 true 或 false"))
    if "code" in values and values["code"] != code:
        problems.append(("code", "代办点编码不能修改"))
    if problems:
        raise InvalidInput(problems)
    async with uow:
        point = await _get(uow, hall, code)
        fresh = updated(point, values, now=now)
        if fresh.active and (missing := point_problems(point_json(fresh))):
            # a point migration 0012 registered from old dispatches has no address or clerk yet
            raise InvalidInput([(f, f"{m}（补全后才能启用代办点）") for f, m in missing])
        await uow.village_points.save(fresh)
        changed = sorted(
            k for k in values if k in ("name", "town", "address", "clerk_name", "clerk_phone", "active")
        )
        await uow.console.audit(
            at=now, actor=actor, action="village_point.changed", subject=_audit_subject(hall, code),
            fields=changed, active=fresh.active,
        )  # fmt: skip
    return fresh


@dataclass(frozen=True)
class Imported:
    added: list[str]
    changed: list[str]


async def import_rows(
    uow: UnitOfWork, rows: Sequence[tuple[int, Mapping[str, object]]], *, hall: str, actor: str, now: datetime
) -> Imported:
    """A point list (each row with its row number in the file): every row is checked first and the
    list is refused whole, naming each bad row and field (第 N 行 field), or stored whole: new codes
    added, known ones updated (and made active)."""
    if not rows:
        raise InvalidInput([("file", "文件中没有代办点数据行")])
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput([("file", f"一次最多导入 {MAX_IMPORT_ROWS} 个代办点")])
    problems: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for number, values in rows:
        problems += [(f"第 {number} 行 {f}", f"第 {number} 行 {m}") for f, m in point_problems(values)]
        code = str(values.get("code") or "").strip()
        if code and code in seen:
            message = f"第 {number} 行 代办点编码：{code} 与第 {seen[code]} 行重复"
            problems.append((f"第 {number} 行 code", message))
        seen.setdefault(code, number)
    if problems:
        more = f"……共 {len(problems)} 处错误；" if len(problems) > MAX_SHOWN else ""
        note = ("file", f"{more}整份清单未导入，请改正后重新导入")
        raise InvalidInput([*problems[:MAX_SHOWN], note])
    points = [point_from(values, hall=hall, now=now) for _, values in rows]
    result = Imported([], [])
    async with uow:
        known = await uow.village_points.get_many({(hall, p.code) for p in points})
        for p in points:
            if (hall, p.code) in known:
                await uow.village_points.save(p)
                result.changed.append(p.code)
            elif await uow.village_points.add(p):
                result.added.append(p.code)
            else:
                raise Conflict(f"代办点编码 {p.code} 刚刚已被添加，请重新导入")
        await uow.console.audit(
            at=now, actor=actor, action="village_point.imported", subject=_audit_subject(hall, "*"),
            added=len(result.added), changed=len(result.changed),
        )  # fmt: skip
    return result


# ---- intake: a point the dispatch's hall has ----------------------------------------------------


async def check_intake(uow: UnitOfWork, d: Dispatch) -> None:
    """InvalidInput on `village_point_code` when a dispatch for a point names one its hall does not have
    (or has deactivated). A case already stored is left to the intake (a replay answers as before)."""
    if not for_point(d):
        return
    code = d.village_point_code or ""
    async with uow:
        point = await uow.village_points.get(d.hall, code)
        if point is not None and point.active and point.addressable:
            return
        if await uow.dispatches.stored_cases({(d.client_id, d.case_no, d.direction.value)}):
            return
    message = (
        f"代办点 {code} 已停用，不能再送达该代办点"
        if point is not None
        else f"本大厅没有编码为 {code} 的村级代办点"
    )
    raise InvalidInput([("village_point_code", message)])


async def points_of(uow: UnitOfWork, found: Iterable[Dispatch]) -> dict[tuple[str, str], VillagePoint]:
    """The points the dispatches for a point are addressed to, by (hall, code), in the open unit of work."""
    keys = {(d.hall, d.village_point_code or "") for d in found if for_point(d)}
    return await uow.village_points.get_many(keys) if keys else {}


async def pickup_place(uow: UnitOfWork, d: Dispatch) -> VillagePoint | None:
    """Where the citizen collects a parcel that waits for them: its village point (for the pickup-code
    SMS, the point's name and address rather than the hall's), or None: the hall's counter. In the open
    unit of work."""
    if not for_point(d):
        return None
    return await uow.village_points.get(d.hall, d.village_point_code or "")


# ---- parcels per point --------------------------------------------------------------------------


async def figures(uow: UnitOfWork, hall: str | None = None) -> list[PointFigures]:
    """Every point of the registry (and any code only dispatches carry) with its parcels by status, the
    points with open parcels first."""
    async with uow:
        registry = await uow.village_points.list(hall)
        counts = await uow.village_points.parcel_counts(hall)
    found: dict[tuple[str, str], PointFigures] = {(p.hall, p.code): PointFigures(p.code, p) for p in registry}
    for (point_hall, code, status), n in counts.items():
        key = (point_hall, code or "—")
        found.setdefault(key, PointFigures(key[1])).by_status[status] += n
    return sorted(found.values(), key=lambda f: (-f.open, f.code))


async def parcels(
    uow: UnitOfWork, hall: str, code: str, statuses: frozenset[Status] | None = None
) -> list[Dispatch]:
    """The point's parcels (of `statuses` only, when given), oldest first."""
    chosen = sorted(s.value for s in statuses) if statuses is not None else None
    async with uow:
        return await uow.village_points.parcels(hall, code, chosen)
