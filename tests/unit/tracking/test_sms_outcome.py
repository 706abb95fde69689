"""What a notice's outcome says of its SMS (`domain.sms_outcome`): whether the message went, may have
gone (ask the provider before another goes), or did not, whatever receipt came after the answer."""

from __future__ import annotations

import pytest

from logistics.domain import sms_outcome as o
from logistics.domain.sms_outcome import Fate


@pytest.mark.parametrize(
    ("outcome", "fate"),
    [
        ("", Fate.UNKNOWN),  # on its way, or the sender died before it heard back
        ("failed: timeout", Fate.UNKNOWN),
        ("sent", Fate.SENT),
        ("sent: 900^1", Fate.SENT),
        (o.CONFIRMED, Fate.SENT),
        ("failed: unreachable", Fate.NOT_SENT),
        ("failed: isv.BUSINESS_LIMIT_CONTROL", Fate.NOT_SENT),
        ("failed: timeout_x", Fate.NOT_SENT),
        ("failed: ", Fate.NOT_SENT),
    ],
)
def test_the_provider_s_answer_tells_the_fate(outcome, fate):
    assert o.fate(outcome) is fate


@pytest.mark.parametrize("answer", ["", "failed: timeout", "sent: 900^1"])
def test_a_receipt_settles_a_message_whatever_the_answer_said(answer):
    delivered = o.with_receipt(answer, delivered=True, err_code="DELIVERED")
    assert o.fate(delivered) is Fate.SENT and o.has_receipt(delivered) and not o.has_receipt(answer)
    assert o.confirmed(delivered) == f"{o.CONFIRMED}; receipt: delivered"  # the receipt is kept


def test_an_undelivered_receipt_after_a_lost_answer_is_not_sent_with_the_provider_s_code():
    outcome = o.with_receipt("failed: timeout", delivered=False, err_code="MK:0001")
    assert outcome == "failed: timeout; receipt: undelivered MK:0001"
    assert o.fate(outcome) is Fate.NOT_SENT and o.error(outcome) == "MK:0001"
    assert o.fate(o.with_receipt("sent: 900^1", delivered=False, err_code="MK:0001")) is Fate.SENT


def test_the_outcomes_written_read_back():
    assert (o.sent("900^1"), o.sent(None), o.failed("isv.X")) == ("sent: 900^1", "sent", "failed: isv.X")
    assert o.error(o.failed("isv.X")) == "isv.X" and o.error(o.failed("")) == ""
    assert o.confirmed("failed: timeout") == o.CONFIRMED
