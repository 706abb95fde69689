"""Village proxy points (乡村代办点) over the API: each hall's registry, and its clerks' access links.

A staff user of a hall acts on that hall's points (another hall's code is 404, as if it did not exist);
an admin without a hall names one with `hall` (default: the default hall)."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, Field

from ...domain.errors import InvalidInput, NotFound
from ...domain.hall import DEFAULT_HALL, HALL_CODE
from ...domain.village import point_json
from ...ports.repositories.users import User
from ...service import village_clerk, village_points
from .. import limits
from ..auth import scoped, staff
from ..keys import CLOCK
from .documented import Param, documented
from .json_body import json_object
from .responses import AddressOut, Error, InvalidError, Open, When
from .schemas import AddressIn

routes = web.RouteTableDef()
ROLES = ("dispatcher",)
HALL = Param("hall", "query", {"type": "string", "maxLength": 32}, "大厅编码 the hall (admins without one)")
CODE = Param(
    "code", "path", {"type": "string", "maxLength": 64}, "代办点编码 the point's code", required=True
)


class VillagePointIn(BaseModel):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$", examples=["VP-YT01"])
    name: str = Field(max_length=60, examples=["严田村代办点"])
    town: str = Field(max_length=60, examples=["严田镇"])
    address: AddressIn
    clerk_name: str = Field(max_length=40)
    clerk_phone: str = Field(examples=["13907960001"])


class VillagePointPatch(BaseModel):
    name: str | None = None
    town: str | None = None
    address: AddressIn | None = None
    clerk_name: str | None = None
    clerk_phone: str | None = None
    active: bool | None = Field(default=None, description="false: deactivate (no new parcels)")


class VillagePointOut(Open):
    code: str
    name: str
    town: str
    address: AddressOut
    clerk_name: str
    clerk_phone: str
    active: bool
    hall: str
    created_at: When | None
    updated_at: When | None


class VillagePointListOut(Open):
    village_points: list[VillagePointOut]


class AccessOut(Open):
    id: int
    token: str = Field(description="shown once: only a digest is stored")
    link: str = Field(description="the clerk's page, opened with the token")


def _hall(request: web.Request, user: User) -> str:
    given = request.query.get("hall") or None
    if given is not None and not HALL_CODE.fullmatch(given):
        raise InvalidInput([("hall", "大厅编码须为 1-32 位字母、数字、- 或 _ (not a hall code)")])
    if user.hall is not None:
        if given is not None and given != user.hall:
            raise NotFound("no such village point")
        return user.hall
    return given or DEFAULT_HALL


def _actor(user: User) -> str:
    return f"staff:{user.name}"


@routes.post("/api/v1/village-points")
@documented(
    summary_zh="登记村级代办点",
    summary_en="Register a village proxy point",
    security="staff",
    tag="village points",
    roles=ROLES,
    params=(HALL,),
    request=VillagePointIn,
    responses={201: VillagePointOut, 404: Error, 409: Error, 422: InvalidError},
    description="409: the hall already has this code. 422 names each bad field.",
)
async def create(request: web.Request) -> web.Response:
    user = await staff(request, *ROLES)
    hall = _hall(request, user)
    body = await json_object(request, limits.SMALL_JSON)
    point = await village_points.register(
        scoped(request).uow(), body, hall=hall, actor=_actor(user), now=request.app[CLOCK].now()
    )
    return web.json_response(point_json(point), status=201)


@routes.get("/api/v1/village-points")
@documented(
    summary_zh="村级代办点列表",
    summary_en="List the hall's village points",
    security="staff",
    tag="village points",
    roles=ROLES,
    params=(HALL,),
    responses={200: VillagePointListOut, 404: Error, 422: InvalidError},
)
async def list_points(request: web.Request) -> web.Response:
    user = await staff(request, *ROLES)
    hall = _hall(request, user) if request.query.get("hall") or user.hall else None
    found = await village_points.listed(scoped(request).uow(read_only=True), hall)
    return web.json_response({"village_points": [point_json(p) for p in found]})


@routes.get("/api/v1/village-points/{code}")
@documented(
    summary_zh="村级代办点详情",
    summary_en="One village point",
    security="staff",
    tag="village points",
    roles=ROLES,
    params=(CODE, HALL),
    responses={200: VillagePointOut, 404: Error, 422: InvalidError},
)
async def get_point(request: web.Request) -> web.Response:
    user = await staff(request, *ROLES)
    point = await village_points.get(
        scoped(request).uow(read_only=True), _hall(request, user), request.match_info["code"]
    )
    return web.json_response(point_json(point))


@routes.patch("/api/v1/village-points/{code}")
@documented(
    summary_zh="修改或停用村级代办点",
    summary_en="Change or deactivate a village point",
    security="staff",
    tag="village points",
    roles=ROLES,
    params=(CODE, HALL),
    request=VillagePointPatch,
    responses={200: VillagePointOut, 404: Error, 422: InvalidError},
    description="Only the fields given change. A point left or made active must be complete, as a new one "
    "is (a point registered from old dispatches has no address or clerk yet): 422 names what is missing.",
)
async def patch_point(request: web.Request) -> web.Response:
    user = await staff(request, *ROLES)
    hall = _hall(request, user)
    body = await json_object(request, limits.SMALL_JSON)
    point = await village_points.change(
        scoped(request).uow(), hall, request.match_info["code"], body, actor=_actor(user),
        now=request.app[CLOCK].now(),
    )  # fmt: skip
    return web.json_response(point_json(point))


@routes.post("/api/v1/village-points/{code}/access")
@documented(
    summary_zh="为代办点经办人生成访问链接",
    summary_en="Issue an access link to the point's clerk",
    security="staff",
    tag="village points",
    roles=ROLES,
    params=(CODE, HALL),
    responses={201: AccessOut, 404: Error, 422: InvalidError},
    description="The token is shown once; the clerk opens `link` on a phone (no staff account needed).",
)
async def issue_access(request: web.Request) -> web.Response:
    user = await staff(request, *ROLES)
    hall, code = _hall(request, user), request.match_info["code"]
    access_id, token = await village_clerk.issue(
        scoped(request).uow, hall, code, actor=_actor(user), now=request.app[CLOCK].now()
    )
    link = f"/clerk/enter?token={token}"
    return web.json_response({"id": access_id, "token": token, "link": link}, status=201)


@routes.delete("/api/v1/village-points/{code}/access/{access_id}")
@documented(
    summary_zh="收回代办点访问链接",
    summary_en="Revoke a clerk's access link (at once)",
    security="staff",
    tag="village points",
    roles=ROLES,
    params=(CODE, HALL, Param("access_id", "path", {"type": "integer"}, "the link's id", required=True)),
    responses={204: None, 404: Error, 422: InvalidError},
)
async def revoke_access(request: web.Request) -> web.Response:
    user = await staff(request, *ROLES)
    hall, code = _hall(request, user), request.match_info["code"]
    raw = request.match_info["access_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound("no such live access link")
    await village_clerk.revoke(
        scoped(request).uow, hall, code, int(raw), actor=_actor(user), now=request.app[CLOCK].now()
    )
    return web.Response(status=204)
