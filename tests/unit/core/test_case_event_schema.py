"""The case event body: validated with field names, and hashed so that a replay is recognised whatever
its key order, spacing or the offset its time is written in."""

import pytest

from logistics.domain.errors import InvalidInput
from logistics.web.api.cases import event_hash
from logistics.web.api.schemas import CaseEventIn, parse, parse_case_no

FIRST = b'{"stage": "registered", "at": "2026-11-01T09:00:00+08:00", "applicant_phone": "138 0796 1234"}'


def test_the_same_event_written_otherwise_hashes_alike_and_other_content_does_not():
    again = b'{"applicant_phone":"13807961234","at":"2026-11-01T01:00:00Z","stage":"registered"}'
    first, same = parse(CaseEventIn, FIRST), parse(CaseEventIn, again)
    assert first.applicant_phone == "13807961234"
    assert event_hash(first) == event_hash(same)
    noted = parse(CaseEventIn, FIRST.replace(b"}", b', "note": "x"}'))
    assert event_hash(noted) != event_hash(first)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"stage": "approved", "at": "2026-11-01T09:00:00+08:00"}', "stage"),
        (b'{"stage": "accepted", "at": "2026-11-01T09:00:00"}', "at"),
        (b'{"stage": "accepted", "at": "1999-12-31T09:00:00+08:00"}', "at"),
        (
            b'{"stage": "accepted", "at": "2026-11-01T09:00:00+08:00", "applicant_phone": "12345"}',
            "applicant_phone",
        ),
        (b'{"stage": "accepted", "at": "2026-11-01T09:00:00+08:00", "note": "a\\u202eb"}', "note"),
        (b'{"stage": "accepted", "at": "2026-11-01T09:00:00+08:00", "phone": "13807961234"}', "phone"),
        (b"[]", "body"),
    ],
)
def test_bad_events_name_the_field(raw, field):
    with pytest.raises(InvalidInput) as refused:
        parse(CaseEventIn, raw)
    assert field in [f for f, _ in refused.value.errors]


def test_a_case_number_in_the_path_follows_intakes_rule():
    assert parse_case_no("AF-2026_01") == "AF-2026_01"
    for bad in ("", "AF 1", "A" * 65, "案件1"):
        with pytest.raises(InvalidInput) as refused:
            parse_case_no(bad)
        assert refused.value.errors[0][0] == "case_no"
