import pytest

from logistics.domain import signing
from logistics.domain.masking import mask_address, mask_name, mask_phone, phone_last4
from logistics.domain.money import yuan
from logistics.domain.validation import is_phone, is_postcode


@pytest.mark.parametrize(
    ("name", "masked"), [("王", "*"), ("王明", "王*"), ("王小明", "王*明"), ("欧阳娜娜", "欧**娜"), ("", "*")]
)
def test_names_hide_at_least_one_character(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13807961234", "138******34"), ("0796-7654321", "079******21"), ("7654321", "******1")],
)
def test_phones_hide_at_least_six_digits(phone, masked):
    assert mask_phone(phone) == masked
    assert masked.count("*") >= 6


def test_room_and_house_numbers_are_hidden_road_kept():
    masked = mask_address("城东大道18号幸福小区3栋2单元501室")
    assert "城东大道" in masked and "幸福小区" in masked
    for secret in ("18", "3栋", "2单元", "501"):
        assert secret not in masked


def test_phone_last4():
    assert phone_last4("138-0796-1234") == "1234"


@pytest.mark.parametrize(
    ("phone", "ok"),
    [("13807961234", True), ("0796-7654321", True), ("07967654321", True), ("010-62345678", True),
     ("12345", False), ("1380796123", False), ("23807961234", False), ("0796-1234", False)],
)  # fmt: skip
def test_chinese_phone_formats(phone, ok):
    assert is_phone(phone) is ok


def test_postcode_is_six_digits():
    assert is_postcode("343200") and not is_postcode("34320") and not is_postcode("34320a")


def test_signature_round_trip_and_window():
    body = b'{"a":1}'
    sig = signing.signature("s3cret", "1700000000", body)
    assert signing.verify("s3cret", "1700000000", body, sig, now_s=1700000100, window_s=300) is None
    assert "X-Signature" in signing.verify("other", "1700000000", body, sig, now_s=1700000100, window_s=300)
    assert "X-Signature" in signing.verify(
        "s3cret", "1700000000", body + b" ", sig, now_s=1700000100, window_s=300
    )
    assert "X-Timestamp" in signing.verify("s3cret", "1700000000", body, sig, now_s=1700000301, window_s=300)
    assert "X-Timestamp" in signing.verify("s3cret", "soon", body, sig, now_s=1700000000, window_s=300)


def test_signature_matches_the_contract_formula():
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"42.body", hashlib.sha256).hexdigest()
    assert signing.sign_headers("c", "k", b"body", 42) == {
        "X-Client-Id": "c",
        "X-Timestamp": "42",
        "X-Signature": expected,
    }


def test_yuan_formatting():
    assert [yuan(0), yuan(5), yuan(800), yuan(-1234)] == ["0.00", "0.05", "8.00", "-12.34"]


@pytest.mark.parametrize(
    "timestamp",
    ["+1700000000", "1_700_000_000", " 1700000000", "1700000000\n", "１７００００００００",
     "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660", "-0", "0x65", "1e9", "", "1" * 13],
)  # fmt: skip
def test_a_timestamp_is_ascii_digits_only_even_when_signed_as_sent(timestamp):
    body = b'{"a":1}'
    sig = signing.signature("s3cret", timestamp, body)  # the client signed exactly this text
    assert signing.parse_timestamp(timestamp) is None
    reason = signing.verify("s3cret", timestamp, body, sig, now_s=1700000000, window_s=10**12)
    assert reason and "X-Timestamp" in reason
