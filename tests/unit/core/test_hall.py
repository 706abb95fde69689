"""The hall from CERTPOST_ORIGIN: the fields given replace the sample hall's, each still checked."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from logistics.config import SAMPLE_HALL, Settings
from logistics.domain.hall import DEFAULT_HALL, Hall
from logistics.domain.model import Address


def test_no_origin_is_the_sample_hall(monkeypatch):
    monkeypatch.delenv("CERTPOST_ORIGIN", raising=False)
    assert Settings().origin == SAMPLE_HALL and SAMPLE_HALL.code == DEFAULT_HALL


def test_the_fields_given_replace_the_sample_halls(monkeypatch):
    monkeypatch.setenv("CERTPOST_ORIGIN", '{"name": "永新县行政审批局", "postcode": "343400", "code": "yx"}')
    hall = Settings().origin
    assert isinstance(hall, Hall)
    assert (hall.name, hall.postcode, hall.phone) == ("永新县行政审批局", "343400", SAMPLE_HALL.phone)
    assert hall.code == DEFAULT_HALL  # CERTPOST_ORIGIN is always the default hall's


def test_a_field_of_the_wrong_type_is_named(monkeypatch):
    monkeypatch.setenv("CERTPOST_ORIGIN", '{"postcode": 343200}')
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert [(e["loc"], e["msg"]) for e in raised.value.errors()] == [
        (("origin", "postcode"), "Input should be a valid string")
    ]


def test_the_postal_address_takes_the_town_the_address_starts_with():
    hall = replace(SAMPLE_HALL, address="平都镇凤林东路1号")
    expected = Address("江西省", "吉安市", "安福县", "平都镇凤林东路1号", "343200", "平都镇")
    assert hall.postal_address == expected
    assert replace(hall, town="洲湖镇").postal_address.town == "洲湖镇"
