"""Dispatches and their audit trail on disk. Rows <-> domain objects."""

from __future__ import annotations

from datetime import datetime

import pydantic_core
from sqlalchemy import ARRAY, String, any_, case, cast, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.cause import read_cause
from ..domain.masking import phone_last4
from ..domain.model import Address, AuditEvent, DeliveryMethod, Direction, Dispatch, Item, Party
from ..domain.status import Status
from ..service.views import dispatch_json
from .tables import dispatch_events, dispatches

# The parts of a dispatch's JSON (`dispatch_json`) that only its payload column keeps.
PAYLOAD_KEYS = (
    "matter_name", "matter_code", "department_name", "recipient", "address", "items", "weight_g",
    "declared_value_fen", "completed_at", "village_point_code",
)  # fmt: skip


def payload_of(dispatch: dict) -> dict:
    """The payload column of a dispatch, from its JSON (`dispatch_json`)."""
    return {key: dispatch[key] for key in PAYLOAD_KEYS}


def _payload(d: Dispatch) -> dict:
    return payload_of(dispatch_json(d))


def to_domain(row) -> Dispatch:
    p = row.payload
    return Dispatch(
        id=row.id,
        client_id=row.client_id,
        case_no=row.case_no,
        matter_name=p["matter_name"],
        matter_code=p["matter_code"],
        department_code=row.department_code,
        department_name=p["department_name"],
        direction=Direction(row.direction),
        delivery_method=DeliveryMethod(row.delivery_method),
        recipient=Party(**p["recipient"]),
        address=Address(**p["address"]),
        items=tuple(Item(**i) for i in p["items"]),
        weight_g=p["weight_g"],
        declared_value_fen=p["declared_value_fen"],
        completed_at=datetime.fromisoformat(p["completed_at"]),
        created_at=row.created_at,
        status=Status(row.status),
        village_point_code=p.get("village_point_code"),
        order_no=row.order_no,
        waybill_no=row.waybill_no,
        reason=row.reason,
        updated_at=row.updated_at,
    )


def _insert_ignoring_duplicates(conn: AsyncConnection):
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(dispatches).on_conflict_do_nothing(index_elements=["client_id", "case_no"])


def _row(d: Dispatch, request_hash: str, response: dict) -> dict:
    return dict(
        id=d.id,
        client_id=d.client_id,
        case_no=d.case_no,
        request_hash=request_hash,
        payload=payload_of(response),
        response=response,
        status=d.status.value,
        direction=d.direction.value,
        delivery_method=d.delivery_method.value,
        department_code=d.department_code,
        phone_last4=phone_last4(d.recipient.phone),
        order_no=d.order_no,
        waybill_no=d.waybill_no,
        reason=d.reason,
        created_at=d.created_at,
        updated_at=d.created_at,
    )


async def insert_new(conn: AsyncConnection, d: Dispatch, *, request_hash: str, response: dict) -> bool:
    """Insert unless (client, case_no) exists; True when this call created it."""
    result = await conn.execute(_insert_ignoring_duplicates(conn).values(**_row(d, request_hash, response)))
    return result.rowcount == 1


def insert_many(new: list[tuple[Dispatch, str, dict]]) -> tuple:
    """(statement, rows) inserting (dispatch, request_hash, response); a duplicate case fails it whole."""
    return insert(dispatches), [_row(d, h, r) for d, h, r in new]


def cases_query(keys: set[tuple[str, str]], dialect: str):
    """The stored cases among `keys`. The case numbers travel as one JSON/array parameter: an expanding
    IN (...) would be compiled anew for every batch size, which costs more than the query."""
    cases = sorted({case for _, case in keys})
    if dialect == "sqlite":
        each = func.json_each(pydantic_core.to_json(cases).decode()).table_valued("value")
        wanted = dispatches.c.case_no.in_(select(each.c.value))
    else:
        wanted = dispatches.c.case_no == any_(cast(literal(cases), ARRAY(String)))
    columns = (dispatches.c.client_id, dispatches.c.case_no, dispatches.c.request_hash, dispatches.c.response)
    return select(*columns).where(wanted)


def cases_found(rows, keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
    """{(client_id, case_no): (request_hash, response)} for the keys already stored."""
    return {
        (r.client_id, r.case_no): (r.request_hash, r.response)
        for r in rows
        if (r.client_id, r.case_no) in keys
    }


async def find_by_case(conn: AsyncConnection, client_id: str, case_no: str):
    """The stored (request_hash, response) of a case, or None."""
    return (
        await conn.execute(
            select(dispatches.c.request_hash, dispatches.c.response).where(
                dispatches.c.client_id == client_id, dispatches.c.case_no == case_no
            )
        )
    ).first()


async def get(conn: AsyncConnection, dispatch_id: str) -> Dispatch | None:
    row = (await conn.execute(select(dispatches).where(dispatches.c.id == dispatch_id))).first()
    return to_domain(row) if row else None


async def get_many(conn: AsyncConnection, ids: list[str]) -> list[Dispatch]:
    rows = await conn.execute(select(dispatches).where(dispatches.c.id.in_(ids)))
    return [to_domain(r) for r in rows]


async def find(conn: AsyncConnection, **where) -> Dispatch | None:
    query = select(dispatches)
    for column, value in where.items():
        query = query.where(dispatches.c[column] == value)
    row = (await conn.execute(query.limit(1))).first()
    return to_domain(row) if row else None


async def save_move(conn: AsyncConnection, before: Dispatch, after: Dispatch, event: AuditEvent) -> bool:
    """Write a status move if nobody moved the dispatch meanwhile; always with its audit event."""
    result = await conn.execute(
        update(dispatches)
        .where(dispatches.c.id == before.id, dispatches.c.status == before.status.value)
        .values(
            status=after.status.value,
            waybill_no=after.waybill_no,
            reason=after.reason,
            updated_at=after.updated_at,
        )
    )
    if result.rowcount != 1:
        return False
    await add_event(conn, before.id, event)
    return True


async def save_moves(conn: AsyncConnection, moves: list[tuple[Dispatch, Dispatch, AuditEvent]]) -> set[str]:
    """`save_move` for many dispatches: one compare-and-set statement per (from, to, time) with each row's
    waybill number and reason, and the audit events of those that moved in one insert. Returns the ids
    that moved (a missing one was moved by someone else meanwhile)."""
    groups: dict[tuple, list[tuple[Dispatch, Dispatch]]] = {}
    for before, after, _ in moves:
        groups.setdefault((before.status.value, after.status.value, after.updated_at), []).append(
            (before, after)
        )
    moved: set[str] = set()
    for (from_status, to_status, at), pairs in groups.items():
        ids = [before.id for before, _ in pairs]
        waybills = {before.id: after.waybill_no for before, after in pairs}
        reasons = {before.id: after.reason for before, after in pairs}
        result = await conn.scalars(
            update(dispatches)
            .where(dispatches.c.id.in_(ids), dispatches.c.status == from_status)
            .values(
                status=to_status,
                waybill_no=case(waybills, value=dispatches.c.id, else_=dispatches.c.waybill_no),
                reason=case(reasons, value=dispatches.c.id, else_=dispatches.c.reason),
                updated_at=at,
            )
            .returning(dispatches.c.id)
        )
        moved.update(result)
    await add_events(conn, [(before.id, event) for before, _, event in moves if before.id in moved])
    return moved


def _event_row(dispatch_id: str, event: AuditEvent) -> dict:
    return dict(
        dispatch_id=dispatch_id,
        at=event.at,
        actor=event.actor,
        cause=event.recorded_cause,
        from_status=event.from_status.value if event.from_status else None,
        to_status=event.to_status.value if event.to_status else None,
        detail=event.detail,
    )


async def save_contact(conn: AsyncConnection, d: Dispatch) -> None:
    """Store a corrected recipient and address."""
    await conn.execute(
        update(dispatches)
        .where(dispatches.c.id == d.id)
        .values(payload=_payload(d), phone_last4=phone_last4(d.recipient.phone), updated_at=d.updated_at)
    )


async def add_event(conn: AsyncConnection, dispatch_id: str, event: AuditEvent) -> None:
    await add_events(conn, [(dispatch_id, event)])


async def add_events(conn: AsyncConnection, events: list[tuple[str, AuditEvent]]) -> None:
    if events:
        await conn.execute(*insert_events(events))


def insert_events(events: list[tuple[str, AuditEvent]]) -> tuple:
    return insert(dispatch_events), [_event_row(i, e) for i, e in events]


async def events(conn: AsyncConnection, dispatch_id: str) -> list[AuditEvent]:
    rows = await conn.execute(
        select(dispatch_events)
        .where(dispatch_events.c.dispatch_id == dispatch_id)
        .order_by(dispatch_events.c.id)
    )
    return [_event(r) for r in rows]


def _event(r) -> AuditEvent:
    cause, scan = read_cause(r.cause)
    return AuditEvent(r.at, r.actor, cause, _status(r.from_status), _status(r.to_status), r.detail, scan)


def _status(value: str | None) -> Status | None:
    return Status(value) if value else None


async def search(
    conn: AsyncConnection,
    *,
    status: str | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Dispatch], int]:
    query = select(dispatches)
    if status:
        query = query.where(dispatches.c.status.in_(status.split(",")))
    if q:
        query = query.where(
            or_(dispatches.c.case_no == q, dispatches.c.waybill_no == q, dispatches.c.id == q)
        )
    total = await conn.scalar(select(func.count()).select_from(query.subquery()))
    rows = await conn.execute(query.order_by(dispatches.c.created_at.desc()).limit(limit).offset(offset))
    return [to_domain(r) for r in rows], total or 0
