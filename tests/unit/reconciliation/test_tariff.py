"""The tariff file: fees, zones, versions, and validation errors that name the key."""

from __future__ import annotations

from datetime import date

import pytest

from logistics.domain.hall import Hall
from reconciliation import TariffError, default_tariff, load_tariff

ORIGIN = Hall(
    "安福县政务服务中心", "0796-7612345", "江西省", "吉安市", "安福县", "平都镇凤林东路1号", "343200"
)

VERSIONS = b"""
[[versions]]
effective_from = 2026-01-01
weight_step_g = 500
[[versions.zones]]
name = "city"
first_weight_g = 500
first_fen = 900
step_fen = 200
[[versions.zones]]
name = "national"
first_weight_g = 1000
first_fen = 2000
step_fen = 500
[versions.insurance]
rate_permille = 3
minimum_fen = 50

[[versions]]
effective_from = "2026-07-01"
weight_step_g = 1000
[[versions.zones]]
name = "national"
first_weight_g = 1000
first_fen = 2500
step_fen = 700
"""


def test_fee_is_first_weight_plus_steps_plus_insurance():
    v = default_tariff().version_on(date(2026, 10, 1))
    county = v.zone_for(ORIGIN, "江西省", "吉安市", "安福县")
    assert [v.fee_fen(county, w, 0) for w in (0, 500, 501, 1000, 1001)] == [800, 800, 1000, 1000, 1200]
    assert v.chargeable_weight_g(county, 1001) == 1500
    assert v.fee_fen(county, 300, 10_000) == 800 + 100  # 50 fen at 5 ‰ is below the 1.00 minimum
    assert v.fee_fen(county, 300, 100_000) == 800 + 500


def test_zones_first_match_wins_against_the_origin():
    v = default_tariff().versions[0]
    zone = lambda *place: v.zone_for(ORIGIN, *place).name  # noqa: E731
    assert zone("江西省", "吉安市", "安福县") == "county"
    assert zone("江西", "吉安", "永新县") == "city"  # suffixes dropped by people still match
    assert zone("江西省", "吉安市", "吉安县") == "city"  # 吉安县 is not 安福县
    assert zone("江西省", "南昌市", "东湖区") == "province"
    assert zone("北京市", "北京市", "海淀区") == "national"


def test_a_zone_covers_closer_destinations_when_closer_zones_are_absent():
    tariff = load_tariff(VERSIONS)
    early = tariff.version_on(date(2026, 3, 1))
    assert early.zone_for(ORIGIN, "江西省", "吉安市", "安福县").name == "city"
    assert (
        early.fee_fen(early.zone_for(ORIGIN, "广东省", "广州市", "天河区"), 1600, 20_000)
        == 2000 + 2 * 500 + 60
    )


def test_the_version_in_force_applies():
    tariff = load_tariff(VERSIONS)
    assert tariff.version_on(date(2025, 12, 31)) is None
    assert tariff.version_on(date(2026, 6, 30)).effective_from == date(2026, 1, 1)
    late = tariff.version_on(date(2026, 7, 1))
    assert late.fee_fen(late.zones[0], 2500, 0) == 2500 + 2 * 700
    assert late.insurance_fen(10_000) == 0  # no [insurance] table in that version


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("first_fen = 900", "first_fen = -1"), "versions[0].zones[0].first_fen"),
        (("first_fen = 2500", 'first_fen = "25"'), "versions[1].zones[0].first_fen"),
        (("weight_step_g = 1000", "weight_step_g = 0"), "versions[1].weight_step_g"),
        (('effective_from = "2026-07-01"', 'effective_from = "July"'), "versions[1].effective_from"),
        (('effective_from = "2026-07-01"', "effective_from = 2026-01-01"), "versions[1].effective_from"),
        (('name = "city"', 'name = "town"'), "versions[0].zones[0].name"),
        (("rate_permille = 3", "rate_permille = -3"), "versions[0].insurance.rate_permille"),
        (("minimum_fen = 50", "minimum_fen = 50\nmaximum_fen = 9"), "versions[0].insurance.maximum_fen"),
        (
            (
                'name = "national"\nfirst_weight_g = 1000\nfirst_fen = 2500',
                'name = "province"\nfirst_weight_g = 1000\nfirst_fen = 2500',
            ),
            "versions[1].zones",
        ),
    ],
)
def test_validation_errors_name_the_key(change, key):
    text = VERSIONS.decode().replace(*change)
    assert text != VERSIONS.decode()
    with pytest.raises(TariffError) as error:
        load_tariff(text.encode())
    assert any(field == key for field, _ in error.value.errors), error.value.errors
    assert str(error.value).startswith(key) or f"; {key}" in str(error.value)


def test_single_version_file_and_broken_toml():
    assert len(default_tariff().versions) == 1
    with pytest.raises(TariffError, match="不是有效的 TOML"):
        load_tariff(b"[[zones]\n")
    with pytest.raises(TariffError, match="zones: 必须是至少一个"):
        load_tariff(b"effective_from = 2026-01-01\nweight_step_g = 500\n")
