"""A case's progress (办件进度): the approval system posts each stage of a case, signed like intake.

A stage at one time is stored once per (client, case): an identical repeat replays the first answer
(200), other content for the same stage and time is a Conflict (409). The applicant's phone (the
citizen's lookup key) and the matter's name are required with the case's first event and carried on by
later ones that leave them out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.case_progress import STAGE_TEXT, CaseEvent, Stage, description
from ..domain.china_time import CHINA
from ..domain.errors import Conflict, InvalidInput
from ..ports import UnitOfWork

FIRST_EVENT_NEEDS = "办件的第一条进度必须提供 (required on the case's first event)"


@dataclass(frozen=True)
class CaseEventRequest:
    hall: str
    client_id: str
    case_no: str
    stage: Stage
    at: datetime
    note: str
    matter_name: str | None
    applicant_phone: str | None
    request_hash: str
    now: datetime


@dataclass(frozen=True)
class CaseEventResult:
    created: bool
    response: dict


def case_event_json(e: CaseEvent) -> dict:
    """The answer to the approval system (no phone number): the same for the first post and a replay."""
    return {
        "case_no": e.case_no,
        "stage": e.stage.value,
        "stage_text": STAGE_TEXT[e.stage],
        "description": description(e.stage, e.note),
        "at": e.at.astimezone(CHINA).isoformat(),
        "note": e.note,
        "matter_name": e.matter_name,
        "created_at": e.created_at.astimezone(CHINA).isoformat(),
    }


def new_event(req: CaseEventRequest, earlier: list[CaseEvent]) -> CaseEvent:
    """The event to store: the case's phone and matter carried on from its latest event when left out
    (InvalidInput naming each when the case has none yet). Pure."""
    last = max(earlier, key=lambda e: e.created_at, default=None)
    phone = req.applicant_phone or (last.applicant_phone if last else None)
    matter = req.matter_name or (last.matter_name if last else None)
    missing = [name for name, value in (("applicant_phone", phone), ("matter_name", matter)) if not value]
    if missing:
        raise InvalidInput([(name, FIRST_EVENT_NEEDS) for name in missing])
    return CaseEvent(
        req.hall, req.client_id, req.case_no, req.stage, req.at, req.note, matter, phone, req.request_hash,
        req.now,
    )  # fmt: skip


def _replay(stored: CaseEvent, req: CaseEventRequest) -> CaseEventResult:
    if stored.request_hash != req.request_hash:
        raise Conflict(
            f"case {req.case_no}: stage {req.stage.value} at {req.at.isoformat()} was already "
            "received with different content"
        )
    return CaseEventResult(False, case_event_json(stored))


async def record_case_event(uow: UnitOfWork, req: CaseEventRequest) -> CaseEventResult:
    """Store one posted stage of a case (201) or answer a repeat (200 replay, 409 Conflict)."""
    key = (req.client_id, req.case_no, req.stage.value, req.at)
    async with uow:
        stored = await uow.cases.find(*key)
        if stored is not None:
            return _replay(stored, req)
        event = new_event(req, await uow.cases.of_case(req.client_id, req.case_no))
        if not await uow.cases.insert(event):  # posted meanwhile by a concurrent request
            stored = await uow.cases.find(*key)
            if stored is None:  # stored before the client was bound to another hall
                raise Conflict(f"case {req.case_no}: this stage was already received under another hall")
            return _replay(stored, req)
    return CaseEventResult(True, case_event_json(event))
