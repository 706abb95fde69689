"""A village point's clerk: an access link per point that staff issue and revoke (only a digest of its
secret is kept), the parcels waiting at the point, and handing one over against the citizen's one-time
pickup code (`pickup.release`: its expiry and attempt limit apply). Every step is audited, naming the
point and its clerk. A link that staff revoked stops working at once (a deactivated point takes no new
parcels, but its clerk still hands over those already there); too many wrong codes through one link lock
it for a while."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.cause import Cause
from ..domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from ..domain.model import Dispatch
from ..domain.status import Status
from ..domain.village import VillagePoint
from ..ports import UnitOfWorkFactory
from ..ports.repositories.village import ClerkAccess
from . import pickup
from .dispatches import note
from .village_points import _audit_subject, _get

FAILURE_LIMIT = 10  # wrong pickup codes through one link ...
FAILURE_WINDOW = timedelta(minutes=30)  # ... within this long lock the link for the rest of it


class AccessRefused(Forbidden):
    """The link is unknown or revoked (said alike: 链接无效)."""


class Locked(DomainError):
    """Too many wrong codes through this link: try again later."""


@dataclass(frozen=True)
class Clerk:
    access: ClerkAccess
    point: VillagePoint

    @property
    def actor(self) -> str:
        """Who the audit trail names: the point and its clerk."""
        return f"village:{self.point.code}:{self.point.clerk_name or '经办人'}"[:64]


def token_digest(token: str) -> str:
    return hashlib.sha256(("certpost-village-access:" + token).encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


async def issue(
    new_uow: UnitOfWorkFactory, hall: str, code: str, *, actor: str, now: datetime
) -> tuple[int, str]:
    """A new access link's id and secret (shown once; only its digest is stored)."""
    token = new_token()
    async with new_uow() as uow:
        point = await _get(uow, hall, code)
        access_id = await uow.village_points.add_access(
            hall, point.code, token_hash=token_digest(token), now=now, by=actor
        )
        await uow.console.audit(
            at=now, actor=actor, action="village_access.issued", subject=_audit_subject(hall, code),
            access_id=access_id,
        )  # fmt: skip
    return access_id, token


async def revoke(
    new_uow: UnitOfWorkFactory, hall: str, code: str, access_id: int, *, actor: str, now: datetime
) -> None:
    async with new_uow() as uow:
        await _get(uow, hall, code)
        if not await uow.village_points.revoke_access(hall, code, access_id, now=now, by=actor):
            raise NotFound("no such live access link")
        await uow.console.audit(
            at=now, actor=actor, action="village_access.revoked", subject=_audit_subject(hall, code),
            access_id=access_id,
        )  # fmt: skip


async def enter(new_uow: UnitOfWorkFactory, token: str, *, now: datetime) -> Clerk:
    """The clerk behind a link's secret; AccessRefused when it is unknown or revoked, Locked while too many
    wrong codes were tried through it."""
    if not token or len(token) > 100:
        raise AccessRefused("链接无效或已被收回，请联系政务服务中心")
    async with new_uow(read_only=True) as uow:
        access = await uow.village_points.access_by_hash(token_digest(token))
        point = await uow.village_points.get(access.hall, access.point_code) if access else None
    if access is None or access.revoked_at is not None or point is None:
        raise AccessRefused("链接无效或已被收回，请联系政务服务中心")
    if _locked(access, now):
        raise Locked("取件码输错次数过多，请 30 分钟后再试")
    return Clerk(access, point)


async def opened(new_uow: UnitOfWorkFactory, clerk: Clerk, *, now: datetime) -> None:
    """The clerk opened the point's page with its link (audited; the link's last use noted)."""
    async with new_uow.for_hall(clerk.point.hall)() as uow:
        await uow.village_points.access_used(clerk.access.id, now=now)
        await uow.console.audit(
            at=now, actor=clerk.actor, action="village_access.opened",
            subject=_audit_subject(clerk.point.hall, clerk.point.code), access_id=clerk.access.id,
        )  # fmt: skip


def _locked(access: ClerkAccess, now: datetime) -> bool:
    return (
        access.failures >= FAILURE_LIMIT
        and access.failed_since is not None
        and access.failed_since > now - FAILURE_WINDOW
    )


async def waiting(new_uow: UnitOfWorkFactory, clerk: Clerk) -> list[Dispatch]:
    """The parcels waiting at the clerk's point for their citizens, oldest first."""
    point = clerk.point
    async with new_uow.for_hall(point.hall)(read_only=True) as uow:
        return await uow.village_points.parcels(point.hall, point.code, [Status.AWAITING_PICKUP.value])


async def hand_over(
    new_uow: UnitOfWorkFactory,
    clerk: Clerk,
    dispatch_id: str,
    code: str,
    *,
    now: datetime,
    max_attempts: int,
) -> Dispatch:
    """awaiting_pickup → picked_up when `code` is the citizen's live pickup code (pickup.release), in the
    clerk's point and hall only (another point's parcel is not found); a wrong code counts against the
    link and the parcel's code both."""
    if "\x00" in dispatch_id:  # names nothing (and PostgreSQL text cannot hold a NUL)
        raise NotFound("no such parcel at this point")
    hall_uow = new_uow.for_hall(clerk.point.hall)
    async with hall_uow(read_only=True) as uow:
        d = await uow.dispatches.get(dispatch_id)
    if d is None or d.village_point_code != clerk.point.code:
        raise NotFound("no such parcel at this point")
    try:
        after = await pickup.release(
            hall_uow, d.id, code, actor=clerk.actor, now=now, max_attempts=max_attempts
        )
    except InvalidInput:
        async with new_uow.for_hall(clerk.point.hall)() as uow:
            window_start = now - FAILURE_WINDOW
            await uow.village_points.access_failed(clerk.access.id, now=now, window_start=window_start)
        raise
    except Conflict:
        raise
    async with hall_uow() as uow:
        await note(
            uow, after, at=now, actor=clerk.actor, cause=Cause.HANDED_OVER_AT_VILLAGE_POINT,
            village_point_code=clerk.point.code, clerk=clerk.point.clerk_name, access_id=clerk.access.id,
        )  # fmt: skip
        await uow.village_points.access_used(clerk.access.id, now=now)
    return after
