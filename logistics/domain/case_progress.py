"""A case's progress in the approval system (办件进度), as the approval system posts it: stages from
registration to completion, which the citizen follows before any parcel exists, then beside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Stage(StrEnum):
    REGISTERED = "registered"
    ACCEPTED = "accepted"
    REVIEWING = "reviewing"
    SITE_INSPECTION = "site_inspection"
    COMPLETED = "completed"
    REJECTED = "rejected"


STAGE_TEXT = {
    Stage.REGISTERED: "登记",
    Stage.ACCEPTED: "受理",
    Stage.REVIEWING: "审核",
    Stage.SITE_INSPECTION: "现场勘察",
    Stage.COMPLETED: "办结",
    Stage.REJECTED: "不予受理",
}
"""Each stage's short name (the timeline's label)."""

STAGE_DESCRIPTION = {
    Stage.REGISTERED: "申请已登记",
    Stage.ACCEPTED: "申请已受理",
    Stage.REVIEWING: "审核中",
    Stage.SITE_INSPECTION: "现场勘察中",
    Stage.COMPLETED: "已办结",
    Stage.REJECTED: "不予受理",
}
"""What the citizen reads for each stage."""


@dataclass(frozen=True)
class CaseEvent:
    """One stage of one case of a machine client, at the time the approval system gives. The applicant's
    phone and the matter's name come with the case's first event and are carried on by later ones."""

    hall: str
    client_id: str
    case_no: str
    stage: Stage
    at: datetime
    note: str
    matter_name: str
    applicant_phone: str
    request_hash: str
    created_at: datetime

    @property
    def key(self) -> tuple[str, str, str, datetime]:
        """A stage at one time is posted once per case: a repeat replays, other content conflicts."""
        return self.client_id, self.case_no, self.stage.value, self.at


def description(stage: str, note: str = "") -> str:
    """The citizen's line for a stage: its Chinese text and the approval system's note, if any."""
    try:
        text = STAGE_DESCRIPTION[Stage(stage)]
    except ValueError:
        text = stage
    return f"{text}：{note}" if note else text
