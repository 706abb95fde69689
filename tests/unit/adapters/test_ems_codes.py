"""EMS scan codes to our statuses, shared by both protocols: the table, its fallback, the raw code kept."""

import pytest

from adapters.ems import codes
from adapters.ems.codes import FALLBACK_STATUS, status_for_opcode
from adapters.ems.mapping import track_event
from logistics.domain.status import Status

S = Status


@pytest.mark.parametrize(
    ("code", "status"),
    [("203", S.HANDED_OVER), ("305", S.IN_TRANSIT), ("306", S.IN_TRANSIT), ("702", S.OUT_FOR_DELIVERY),
     ("704", S.DELIVERED), ("705", S.DELIVERY_FAILED), ("999", FALLBACK_STATUS)],
)  # fmt: skip
def test_scan_codes_map_to_statuses_and_unknown_codes_fall_back_to_in_transit(code, status):
    assert status_for_opcode(code) is status


def test_an_unknown_scan_keeps_its_raw_code_and_text():
    e = track_event({"waybillNo": "1100000000001", "opCode": "888", "opTime": "2026-11-06 10:00:00",
                     "opDesc": "海关查验", "opOrgCity": "吉安市", "opOrgName": "邮区中心局"})  # fmt: skip
    assert (e.status, e.raw_code, e.description, e.location) == (
        S.IN_TRANSIT,
        "888",
        "海关查验",
        "吉安市邮区中心局",
    )


def test_legacy_action_codes():
    assert codes.status_for_legacy_action("10") is Status.DELIVERED
    assert codes.status_for_legacy_action("20") is Status.DELIVERY_FAILED
    assert codes.status_for_legacy_action("77") is codes.FALLBACK_STATUS
