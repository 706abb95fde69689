"""Pure tracking rules: forward-only application, adaptive poll intervals, the citizen throttle's buckets
and text scrubbing. (EMS scan codes and their fallback: tests/unit/adapters/test_ems_codes.py.)"""

from datetime import UTC, datetime, timedelta

import pytest

from logistics.domain.status import Status
from logistics.service.callbacks import retry_delay_s
from logistics.service.citizen import scrub, valid_query
from logistics.service.citizen_throttle import buckets_for
from logistics.service.polling import PollPolicy, next_poll_in
from logistics.service.tracking import applies

T0 = datetime(2026, 11, 6, 8, 0, tzinfo=UTC)
S = Status


@pytest.mark.parametrize(
    ("current", "scan", "offset_s", "expected"),
    [
        (S.BOOKED, S.HANDED_OVER, 0, True),
        (S.BOOKED, S.DELIVERED, 0, True),  # a parcel may be delivered before we saw any other scan
        (S.IN_TRANSIT, S.IN_TRANSIT, 10, True),  # confirms: newer scan of the same status
        (S.DELIVERED, S.IN_TRANSIT, 60, False),  # a late "in transit" never reopens a delivered parcel
        (S.OUT_FOR_DELIVERY, S.IN_TRANSIT, 60, False),  # never backwards
        (S.OUT_FOR_DELIVERY, S.DELIVERED, -60, False),  # older than the newest applied scan
        (S.DELIVERY_FAILED, S.OUT_FOR_DELIVERY, 60, True),  # a second delivery attempt
        (S.BOOKING, S.HANDED_OVER, 0, False),  # not booked yet: stored, applied later
    ],
)
def test_a_scan_applies_only_forward_and_never_when_older_than_the_last_applied(
    current, scan, offset_s, expected
):
    assert applies(current, scan, T0 + timedelta(seconds=offset_s), T0) is expected


POLICY = PollPolicy(out_for_delivery_s=600, active_s=3600, quiet_s=21600, quiet_after_s=172800,
                    not_collected_s=10800, max_age_s=30 * 86400)  # fmt: skip


def _next(status, *, age_s=3600, quiet_s=60, seen=True):
    now = T0 + timedelta(seconds=age_s)
    last = now - timedelta(seconds=quiet_s) if seen else None
    return next_poll_in(status, now=now, started_at=T0, last_event_at=last, policy=POLICY)


def test_poll_intervals_adapt_to_the_parcel():
    assert _next(S.OUT_FOR_DELIVERY) == 600
    assert _next(S.IN_TRANSIT) == 3600
    assert _next(S.IN_TRANSIT, age_s=5 * 86400, quiet_s=3 * 86400) == 21600  # quiet: rarely
    assert _next(S.BOOKED, seen=False) == 10800  # waiting for the courier
    assert _next(S.OUT_FOR_DELIVERY) < _next(S.IN_TRANSIT) < _next(S.IN_TRANSIT, age_s=9e5, quiet_s=3e5)


@pytest.mark.parametrize("status", [S.DELIVERED, S.RETURNED, S.CANCELLED])
def test_polling_stops_at_the_end_of_the_road(status):
    assert _next(status) is None


def test_polling_stops_after_the_maximum_age():
    assert _next(S.IN_TRANSIT, age_s=31 * 86400) is None


def test_a_lookup_counts_against_its_address_and_the_number_it_asked_about():
    assert buckets_for("1.2.3.4", "1100000000013", "") == [("ip", "1.2.3.4"), ("waybill", "1100000000013")]
    assert buckets_for("1.2.3.4", "", "AF1") == [("ip", "1.2.3.4"), ("case", "AF1")]
    assert buckets_for("1.2.3.4", "1100000000013", "AF1")[1][0] == "waybill"  # as the lookup uses it
    assert buckets_for("2001:db8:1:2:3::9", "", "") == [("ip", "2001:db8:1:2::/64")]  # an IPv6 network
    assert buckets_for("1.2.3.4", "9" * 65, "") == [("ip", "1.2.3.4")]  # not a number anyone holds


def test_carrier_texts_shown_to_citizens_hide_names_and_phone_numbers():
    text = scrub("王小明本人签收，投递员电话13907961111", ("王小明",))
    assert "王小明" not in text and "13907961111" not in text and "王*明" in text


def test_phone_numbers_written_with_spaces_or_hyphens_are_hidden_too_but_dates_stay():
    for phone in ("138-0796-1234", "138 0796 1234", "0796-1234567", "0796 8123 4567", "36042119800101123X"):
        text = scrub(f"请联系{phone}补充材料", ())
        digits = "".join(ch for ch in phone if ch.isdigit())
        assert digits[-6:-2] not in "".join(ch for ch in text if ch.isdigit()), (phone, text)
    assert scrub("预计2026-12-05 10:30送达", ()) == "预计2026-12-05 10:30送达"


def test_a_citizen_query_needs_a_number_and_four_digits():
    assert valid_query("1100000000001", "", "1234")
    assert not valid_query("", "", "1234")
    assert not valid_query("1100000000001", "", "12a4")
    assert not valid_query("1100000000001", "", "123")


def test_callback_retries_back_off_exponentially_with_a_cap():
    assert 2.5 <= retry_delay_s(1, 5) <= 5
    assert 10 <= retry_delay_s(3, 5) <= 20
    assert retry_delay_s(30, 5) <= 3600
