"""A real carrier mode needs credentials of its own: never missing, never the simulator's published ones."""

from __future__ import annotations

import base64

import pytest

from adapters.ems.credentials import RETIRED_EXAMPLE_SIGN_KEY, CarrierCredentialsError, check_real_carrier
from adapters.sandbox import DEFAULT_SENDER_NO, DEFAULT_SIGN_KEY
from logistics.config import Settings

OWN_KEY = base64.b64encode(b"issued-by-ems-16").decode()
OWN = {"url": "https://ems.example/api/open", "sender_no": "1100099990001", "sign_key": OWN_KEY}


@pytest.mark.parametrize("kind", ["ems_open", "ems_soap"])
def test_own_credentials_pass(kind):
    check_real_carrier(kind, **OWN)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"sign_key": ""}, "CERTPOST_CARRIER_SIGN_KEY（未设置）"),
        ({"sender_no": " "}, "CERTPOST_CARRIER_SENDER_NO（未设置）"),
        ({"url": ""}, "CERTPOST_CARRIER_URL（未设置）"),
        ({"sign_key": DEFAULT_SIGN_KEY}, "CERTPOST_CARRIER_SIGN_KEY 是模拟器公开的密钥"),
        ({"sign_key": RETIRED_EXAMPLE_SIGN_KEY}, "CERTPOST_CARRIER_SIGN_KEY 是模拟器公开的密钥"),
        ({"sender_no": DEFAULT_SENDER_NO}, "CERTPOST_CARRIER_SENDER_NO 是模拟器的协议客户号"),
    ],
)
@pytest.mark.parametrize("kind", ["ems_open", "ems_soap"])
def test_missing_or_published_credentials_are_refused_with_a_one_line_reason(kind, change, named):
    with pytest.raises(CarrierCredentialsError) as raised:
        check_real_carrier(kind, **{**OWN, **change})
    assert named in str(raised.value) and f"CERTPOST_CARRIER={kind}" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_ems_open_key_must_be_a_base64_sm4_key():
    for bad in ("not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(CarrierCredentialsError, match="16 字节 SM4 密钥"):
            check_real_carrier("ems_open", **{**OWN, "sign_key": bad})


def test_an_unknown_carrier_is_named():
    with pytest.raises(CarrierCredentialsError, match="CERTPOST_CARRIER='ems_rest' 无效"):
        check_real_carrier("ems_rest", **OWN)


def test_settings_carry_no_default_key_of_their_own():
    """The one sandbox default lives in adapters.sandbox; the gateway's settings have none."""
    settings = Settings()
    assert settings.carrier_sign_key == "" and settings.carrier_sender_no == ""
