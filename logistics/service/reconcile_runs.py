"""Reconciliation runs: our shipments as the engine sees them, one stored run per statement, closing a month.

The engine is passed in as plain callables (logistics.reconcile_engine binds `reconciliation` for the web
layer and the CLI), so the core never imports it; it runs in a worker thread. A run is stored once per
(month, statement file, tariff): uploading the same file again returns the first run. A closed month
keeps its frozen run and takes no new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from ..domain.china_time import CHINA
from ..domain.errors import Conflict, InvalidInput, NotFound
from ..domain.model import DEFAULT_HALL
from ..domain.shipped import ShippedParcel  # acceptance dates are the hall's calendar days
from ..ports import UnitOfWork, UnitOfWorkFactory

_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
DEFAULT_TARIFF = "default"


@dataclass(frozen=True)
class Upload:
    period: str
    filename: str
    content: bytes
    tariff: str | None = None  # TOML text; None: the contracted default


@dataclass(frozen=True)
class Outcome:
    result_json: str  # the contract JSON report
    summary: dict  # everything but the findings


Reconcile = Callable[[Upload, list[ShippedParcel]], Outcome]  # raises InvalidInput for a bad file or tariff
Render = Callable[[str, str], bytes]  # (stored result JSON, format) -> report


def check_period(text: str) -> str:
    if not isinstance(text, str) or not _PERIOD.fullmatch(text):
        raise InvalidInput([("period", f"账期必须是 YYYY-MM（例如 2026-10），而不是 {text!r}")])
    return text


# ---- our shipments ----------------------------------------------------------------------------


async def load_shipments(uow: UnitOfWork) -> list[ShippedParcel]:
    """Every dispatch with a waybill number, of every month (the engine judges the period); accepted on
    the carrier's handed_over scan, else the hall's handover move, else a later scan."""
    async with uow:
        return await uow.finance.shipped_parcels()


# ---- runs -------------------------------------------------------------------------------------


async def submit(
    new_uow: UnitOfWorkFactory, upload: Upload, reconcile: Reconcile, *, actor: str, now: datetime
) -> tuple[dict, bool]:
    """(the run, created): a new run, or the one already stored for this file, tariff and month."""
    period = check_period(upload.period)
    if upload.tariff is None:  # the hall's own tariff for that month, if it has one (else the configured)
        async with new_uow(read_only=True) as uow:
            upload = replace(upload, tariff=await uow.halls.tariff_for(uow.hall or DEFAULT_HALL, period))
    sha256 = await asyncio.to_thread(lambda: hashlib.sha256(upload.content).hexdigest())
    tariff_sha256 = hashlib.sha256(upload.tariff.encode()).hexdigest() if upload.tariff else DEFAULT_TARIFF
    async with new_uow(read_only=True) as uow:
        existing = await uow.finance.find_run(period, sha256, tariff_sha256)
        if existing:
            return run_view(existing), False
        _refuse_closed(await uow.finance.get_period(period))
    shipments = await load_shipments(new_uow(read_only=True))
    outcome = await asyncio.to_thread(reconcile, upload, shipments)
    async with new_uow() as uow:
        _refuse_closed(await uow.finance.lock_period(period))
        created = await uow.finance.insert_run(
            id=str(uuid.uuid4()), period=period, filename=upload.filename, sha256=sha256,
            tariff_sha256=tariff_sha256, summary=outcome.summary, result=outcome.result_json,
            created_by=actor, created_at=now,
        )  # fmt: skip
        run = await uow.finance.find_run(period, sha256, tariff_sha256)
    return run_view(run), created


def _refuse_closed(month) -> None:
    if month is not None and month.status == "closed":
        raise Conflict(f"{month.period} 已结账（冻结的对账结果 {month.run_id}），不能再导入对账单")


async def list_runs(uow: UnitOfWork, period: str | None = None) -> list[dict]:
    async with uow:
        return [run_view(r) for r in await uow.finance.list_runs(period and check_period(period))]


async def get_run(uow: UnitOfWork, run_id: str) -> dict:
    async with uow:
        run = await uow.finance.get_run(run_id)
    if run is None:
        raise NotFound("没有这个对账结果")
    return run_view(run)


async def result_json(uow: UnitOfWork, run_id: str) -> str:
    async with uow:
        text = await uow.finance.run_result(run_id)
    if text is None:
        raise NotFound("没有这个对账结果")
    return text


async def report(uow: UnitOfWork, run_id: str, fmt: str, render: Render) -> bytes:
    text = await result_json(uow, run_id)
    return await asyncio.to_thread(render, text, fmt)


def run_view(run) -> dict:
    return {
        "id": run.id,
        "period": run.period,
        "filename": run.filename,
        "sha256": run.sha256,
        "tariff": "default" if run.tariff_sha256 == DEFAULT_TARIFF else run.tariff_sha256,
        "created_by": run.created_by,
        "created_at": run.created_at.astimezone(CHINA).isoformat(),
        "hall": run.hall,
        **run.summary,
    }


# ---- months -----------------------------------------------------------------------------------


async def close_period(
    new_uow: UnitOfWorkFactory, period: str, run_id: str, *, actor: str, now: datetime
) -> dict:
    """Freeze `run_id` as the month's result; closing again with the same run changes nothing."""
    check_period(period)
    async with new_uow() as uow:
        run = await uow.finance.get_run(run_id)
        if run is None or run.period != period:
            raise InvalidInput([("run_id", f"没有属于 {period} 的对账结果 {run_id}")])
        month = await uow.finance.lock_period(period)
        if month.status == "closed" and month.run_id != run_id:
            raise Conflict(f"{period} 已于此前结账（冻结的对账结果 {month.run_id}）")
        if month.status != "closed":
            await uow.finance.close_period(period, run_id=run_id, by=actor, at=now)
    return await period_status(new_uow(read_only=True), period)


async def period_status(uow: UnitOfWork, period: str) -> dict:
    check_period(period)
    async with uow:
        month = await uow.finance.get_period(period)
        runs = [run_view(r) for r in await uow.finance.list_runs(period)]
    closed = month is not None and month.status == "closed"
    return {
        "period": period,
        "status": "closed" if closed else "open",
        "run_id": month.run_id if closed else None,
        "closed_by": month.closed_by if closed else None,
        "closed_at": month.closed_at.astimezone(CHINA).isoformat() if closed else None,
        "frozen": next((r for r in runs if closed and r["id"] == month.run_id), None),
        "runs": [{k: r[k] for k in ("id", "filename", "sha256", "created_by", "created_at")} for r in runs],
    }
