"""What a notice's outcome says of its SMS, and the outcomes written as the message goes.

An outcome is written in steps: "" while the message is on its way (and for good when the sender died
before it heard back); "sent[: <the provider's id>]" or "failed: <error code>" once the provider answered
or did not ("failed: timeout": the answer was lost, the provider may have taken the message); and the
provider's delivery receipt, appended when it comes: "; receipt: delivered" or "; receipt: undelivered
<code>"."""

from __future__ import annotations

from enum import Enum

RECEIPT = "receipt:"
LOST_ANSWER = "timeout"
"""The SmsUnavailable code of a try whose answer was lost: the provider may have taken the message."""
CONFIRMED = "sent: confirmed by provider"


class Fate(Enum):
    SENT = "sent"  # the provider took it: it said so, a lookup found it, or its receipt came
    UNKNOWN = "unknown"  # it may have gone: only the provider can tell
    NOT_SENT = "not sent"  # the provider refused it or never got it, or it reported it undelivered


def sent(provider_id: str | None) -> str:
    return f"sent: {provider_id}" if provider_id else "sent"


def failed(code: str) -> str:
    return f"failed: {code}"


def _parts(outcome: str) -> tuple[str, str]:
    """(the provider's answer, the receipt's verdict), each "" when none came."""
    answer, _, receipt = outcome.partition(f"; {RECEIPT}")
    return answer, receipt.strip()


def fate(outcome: str) -> Fate:
    answer, receipt = _parts(outcome)
    if receipt == "delivered" or answer.startswith("sent"):
        return Fate.SENT
    if receipt or answer not in {"", failed(LOST_ANSWER)}:
        return Fate.NOT_SENT
    return Fate.UNKNOWN


def error(outcome: str) -> str:
    """Why a message did not go (the provider's code), "" when no reason is known."""
    answer, receipt = _parts(outcome)
    return receipt.removeprefix("undelivered").strip() or answer.partition(": ")[2]


def has_receipt(outcome: str) -> bool:
    return RECEIPT in outcome


def with_receipt(outcome: str, *, delivered: bool, err_code: str) -> str:
    verdict = "delivered" if delivered else f"undelivered {err_code}"
    return f"{outcome}; {RECEIPT} {verdict}"


def confirmed(outcome: str) -> str:
    """`outcome` once the provider confirmed the message went (a lookup or a receipt); a receipt is kept."""
    _, receipt = _parts(outcome)
    return f"{CONFIRMED}; {RECEIPT} {receipt}" if receipt else CONFIRMED
