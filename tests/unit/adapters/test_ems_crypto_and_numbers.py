from __future__ import annotations

import base64

import pytest

from adapters.ems.crypto import SealError, seal, sign_params, sm4_decrypt, sm4_ecb, sm4_encrypt, unseal
from adapters.ems.s10 import check_digit, is_valid_waybill_no, make_waybill_no

KEY = base64.b64encode(b"certpost-sandbox").decode()


def test_sm4_known_answer_gb_t_32907():
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    ciphertext = sm4_ecb(key, key, encrypt=True)
    assert ciphertext.hex() == "681edf34d206965e86b3e94f536e4246"
    assert sm4_ecb(key, ciphertext, encrypt=False) == key


@pytest.mark.parametrize("plaintext", [b"", b"x", b"0123456789abcdef", "王小明 洲湖镇".encode()])
def test_sm4_pkcs5_round_trip(plaintext):
    key = bytes(range(16))
    ciphertext = sm4_encrypt(key, plaintext)
    assert len(ciphertext) % 16 == 0 and len(ciphertext) > len(plaintext)
    assert sm4_decrypt(key, ciphertext) == plaintext


def test_sealed_body_opens_only_with_the_same_sign_key():
    sealed = seal('{"waybillNo":"1110000001736"}', KEY)
    assert sealed.startswith("|$4|")
    assert unseal(sealed, KEY) == '{"waybillNo":"1110000001736"}'
    with pytest.raises(SealError):
        unseal(sealed, base64.b64encode(b"another-key-16by").decode())
    with pytest.raises(SealError):
        unseal(sealed[4:], KEY)


def test_sign_params_sorts_keys_and_appends_the_secret():
    # Base64(SHA-256("a1b2secret")), computed independently
    assert sign_params({"b": "2", "a": "1"}, "secret") == "eqlj7uBfoXIrYDuLBmjdf6d34+4vEs/ER4CM0qlYdSk="


def test_s10_check_digit_matches_the_upu_test_vector():
    assert check_digit("12345678") == 5  # RB123456785GB


@pytest.mark.parametrize(("serial", "digit"), [("00000000", 5), ("02000000", 0), ("10000001", 7)])
def test_s10_remainders_ten_and_eleven(serial, digit):
    assert check_digit(serial) == digit


def test_waybill_numbers_are_13_digits_with_the_check_digit_at_position_11():
    number = make_waybill_no("11", 10_000_001, "36")
    assert number == "1110000001736" and is_valid_waybill_no(number)
    assert not is_valid_waybill_no("1110000001836")
    assert not is_valid_waybill_no("111000000173")
