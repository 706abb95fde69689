"""What set a notice off (an SMS or a callback), kept with its job when the move is made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.model import AuditEvent, Dispatch
from ..ports.repositories.tracking import Notice


@dataclass(frozen=True)
class Occurrence:
    """What set a notice off, as it was then: when it happened (a carrier scan's own time), its reason
    (only the moves that give one) and where. Stored in the notice's job."""

    time: datetime
    reason: str = ""
    location: str = ""

    @classmethod
    def of_move(cls, event: AuditEvent | None, at: datetime) -> Occurrence:
        """A move made here (by staff or the system): its time, and the reason it was given, if any."""
        reason = event.detail.get("reason") if event is not None else None
        return cls(at, reason if isinstance(reason, str) else "")

    def payload(self) -> dict:
        return {"time": self.time.isoformat(), "reason": self.reason, "location": self.location}

    @classmethod
    def from_payload(cls, payload: dict) -> Occurrence | None:
        """None for a job queued before occurrences were stored with it."""
        if "time" not in payload:
            return None
        return cls(
            datetime.fromisoformat(payload["time"]), payload.get("reason", ""), payload.get("location", "")
        )


def occurrence_for(payload: dict, notice: Notice, d: Dispatch) -> Occurrence:
    """The job's stored occurrence; for a job queued without one, the dispatch's reason only while it
    is still in the notice's status (after a later move it belongs to that move)."""
    stored = Occurrence.from_payload(payload)
    if stored is not None:
        return stored
    return Occurrence(notice.event_time, d.reason if d.status.value == notice.kind else "")
