"""Labels and handover manifests (staff): thin handlers over logistics.service.printing."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from functools import partial

from aiohttp import web

from labels import LABEL_SIZES, render_labels, render_manifest, render_zpl

from ...domain.china_time import CHINA as _CHINA  # the manifest shows the hall's local time
from ...domain.errors import InvalidInput
from ...domain.hall import Hall
from ...domain.validation import text_problem
from ...service import halls, printing
from .. import limits
from ..auth import scoped, staff
from ..errors import error_response
from ..keys import CLOCK, SETTINGS
from .documented import BINARY, Media, Param, documented
from .json_body import json_object
from .responses import HandoverOut, NotBookedError
from .schemas import HandoverIn, LabelsIn, ManifestIn

routes = web.RouteTableDef()
PRINT_ROLES = ("dispatcher",)
THERMAL_SIZES = tuple(s for s in LABEL_SIZES if s != "a4")
ZPL_DPI = ("203", "300")
MAX_COURIER = 40


def _explain_refusals(handler):
    """A batch refused because some dispatches are not booked: 409 listing them."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except printing.NotBooked as e:
            listed = [{"id": d.id, "case_no": d.case_no, "status": d.status.value} for d in e.refused]
            return error_response(409, str(e), dispatches=listed)

    return wrapped


# ---- labels -------------------------------------------------------------------------------------


@routes.get("/api/v1/dispatches/{id}/label.pdf")
@documented(
    summary_zh="打印一张面单",
    summary_en="One waybill label (PDF, or ZPL for thermal printers)",
    security="staff",
    tag="printing",
    roles=PRINT_ROLES,
    responses={
        200: Media({"application/pdf": BINARY, "text/plain": {"type": "string"}}),
        404: None,
        409: NotBookedError,
        422: None,
    },
    params=(
        Param("size", "query", {"enum": list(LABEL_SIZES), "default": "100x150"}),
        Param("format", "query", {"enum": ["pdf", "zpl"], "default": "pdf"}),
        Param("dpi", "query", {"enum": list(ZPL_DPI), "default": "203"}, "ZPL only"),
    ),
)
@_explain_refusals
async def label(request: web.Request) -> web.Response:
    user = await staff(request, *PRINT_ROLES)
    size, fmt, dpi = _label_query(request.query)
    if fmt == "zpl":
        render = partial(_zpl, dpi=dpi, size=size, **await _hall(request))
    else:
        render = partial(_pdf, size=size, **await _hall(request))
    dispatch_id = request.match_info["id"]
    content = await printing.print_label(
        scoped(request).uow, dispatch_id, render, actor=_actor(user), now=request.app[CLOCK].now()
    )
    if fmt == "zpl":
        return web.Response(text=content, content_type="text/plain", headers=_no_store())
    return _pdf_response(content, f"label-{dispatch_id}.pdf")


@routes.post("/api/v1/labels")
@documented(
    summary_zh="批量打印面单",
    summary_en="Labels of several dispatches, in the given order, as one PDF",
    security="staff",
    tag="printing",
    roles=PRINT_ROLES,
    request=LabelsIn,
    responses={200: Media({"application/pdf": BINARY}), 409: NotBookedError, 422: None},
)
@_explain_refusals
async def label_batch(request: web.Request) -> web.Response:
    user = await staff(request, *PRINT_ROLES)
    body = await json_object(request, limits.ID_LIST)
    ids = _ids(body)
    size = body.get("size", "100x150")
    if size not in LABEL_SIZES:
        raise InvalidInput([("size", _one_of(LABEL_SIZES))])
    content = await printing.print_labels(
        scoped(request).uow,
        ids,
        partial(_pdf, size=size, **await _hall(request)),
        actor=_actor(user),
        now=request.app[CLOCK].now(),
    )
    return _pdf_response(content, f"labels-{len(ids)}.pdf")


def _label_query(query) -> tuple[str, str, int]:
    fmt = query.get("format", "pdf")
    if fmt not in ("pdf", "zpl"):
        raise InvalidInput([("format", _one_of(("pdf", "zpl")))])
    sizes = THERMAL_SIZES if fmt == "zpl" else LABEL_SIZES
    size = query.get("size", "100x150")
    errors = [] if size in sizes else [("size", _one_of(sizes))]
    dpi = query.get("dpi", "203")
    if fmt == "zpl" and dpi not in ZPL_DPI:
        errors.append(("dpi", _one_of(ZPL_DPI)))
    if errors:
        raise InvalidInput(errors)
    return size, fmt, int(dpi) if dpi.isdigit() else 203


# ---- handover manifests -------------------------------------------------------------------------


@routes.post("/api/v1/manifests")
@documented(
    summary_zh="打印交接清单",
    summary_en="Handover manifest (PDF)",
    security="staff",
    tag="printing",
    roles=PRINT_ROLES,
    request=ManifestIn,
    responses={200: Media({"application/pdf": BINARY}), 409: NotBookedError, 422: None},
    headers={200: {"X-Manifest-Id": "清单编号 the manifest's id, for the confirmation"}},
)
@_explain_refusals
async def manifest(request: web.Request) -> web.Response:
    user = await staff(request, *PRINT_ROLES)
    body = await json_object(request, limits.ID_LIST)
    ids, courier = _ids(body), _courier(body, required=False)
    now = request.app[CLOCK].now()
    render = partial(_manifest, origin=(await _hall(request))["origin"], courier=courier, at=now)
    printed = await printing.print_manifest(
        scoped(request).uow, ids, render, courier=courier, actor=_actor(user), now=now
    )
    response = _pdf_response(printed.content, f"manifest-{printed.manifest_id}.pdf")
    response.headers["X-Manifest-Id"] = printed.manifest_id
    return response


@routes.post("/api/v1/manifests/confirm")
@documented(
    summary_zh="确认交寄",
    summary_en="Confirm the courier took the parcels",
    security="staff",
    tag="printing",
    roles=PRINT_ROLES,
    request=HandoverIn,
    responses={200: HandoverOut, 409: NotBookedError, 422: None},
)
@_explain_refusals
async def confirm(request: web.Request) -> web.Response:
    user = await staff(request, *PRINT_ROLES)
    body = await json_object(request, limits.ID_LIST)
    ids, courier = _ids(body), _courier(body, required=True)
    manifest_id = body.get("manifest_id")
    if manifest_id is not None and (
        not isinstance(manifest_id, str) or len(manifest_id) > 64 or text_problem(manifest_id)
    ):
        raise InvalidInput([("manifest_id", "清单编号格式不对 (a string of at most 64 characters)")])
    result = await printing.confirm_handover(
        scoped(request).uow,
        ids,
        courier=courier,
        manifest_id=manifest_id,
        actor=_actor(user),
        now=request.app[CLOCK].now(),
    )
    return web.json_response(
        {
            "manifest_id": result.manifest_id,
            "courier": courier,
            "handed_over": [_brief(d) for d in result.handed_over],
            "skipped": [_brief(d) for d in result.skipped],
        }
    )


# ---- rendering (bound to the hall, run in a thread by the service) ------------------------------


async def _hall(request: web.Request) -> dict:
    """Every hall's origin by code (each label prints its dispatch's own hall as sender), the public URL."""
    settings = request.app[SETTINGS]
    public_url = settings.public_url or f"{request.scheme}://{request.host}"
    async with scoped(request).uow(read_only=True) as uow:
        origins = await halls.origins(uow)
    return {"origin": origins, "public_url": public_url}


def _pdf(dispatches, *, size: str, origin: Mapping[str, Hall], public_url: str, points=None) -> bytes:
    return render_labels(dispatches, size, origin=origin, public_url=public_url, points=points)


def _zpl(dispatches, *, dpi: int, size: str, origin: Mapping[str, Hall], public_url: str, points=None) -> str:
    return render_zpl(dispatches, dpi=dpi, origin=origin, public_url=public_url, size=size, points=points)


def _manifest(dispatches, *, origin: Mapping[str, Hall], courier: str, at, points=None) -> bytes:
    """One hall's manifest (the service refuses a batch of several halls): its hall is the sender."""
    sender = origin[dispatches[0].hall]
    return render_manifest(
        dispatches, origin=sender, courier=courier, at=at.astimezone(_CHINA), points=points
    )


# ---- request parsing ----------------------------------------------------------------------------


def _ids(body: dict) -> list[str]:
    ids = body.get("ids")
    if not isinstance(ids, list):
        raise InvalidInput([("ids", "必须是寄递单编号的数组 (a list of dispatch ids is required)")])
    bad = [
        (f"ids.{n}", "寄递单编号必须是非空字符串 (a non-empty string)")
        for n, i in enumerate(ids)
        if not isinstance(i, str) or not i.strip() or len(i) > 64 or "\x00" in i
    ]
    if bad:
        raise InvalidInput(bad)
    return ids


def _courier(body: dict, *, required: bool) -> str:
    courier = body.get("courier", "")
    if not isinstance(courier, str) or len(courier.strip()) > MAX_COURIER:
        raise InvalidInput([("courier", f"揽收人姓名最多 {MAX_COURIER} 个字 (at most {MAX_COURIER} chars)")])
    if required and not courier.strip():
        raise InvalidInput([("courier", "请填写揽收人姓名 (courier is required)")])
    if problem := text_problem(courier.strip()):
        raise InvalidInput([("courier", problem)])
    return courier.strip()


def _one_of(allowed) -> str:
    listed = "、".join(allowed)
    return f"必须是 {listed} 之一 (one of {', '.join(allowed)})"


# ---- responses ----------------------------------------------------------------------------------


def _actor(user) -> str:
    return f"staff:{user.name}"


def _brief(d) -> dict:
    return {"id": d.id, "case_no": d.case_no, "waybill_no": d.waybill_no, "status": d.status.value}


def _no_store() -> dict:
    return {"Cache-Control": "no-store"}


def _pdf_response(content: bytes, filename: str) -> web.Response:
    headers = {**_no_store(), "Content-Disposition": f'inline; filename="{filename}"'}
    return web.Response(body=content, content_type="application/pdf", headers=headers)
