import json

import pytest

from logistics.domain.errors import InvalidInput
from logistics.web.api.schemas import parse_dispatch, request_hash
from tests.fixtures.dispatches import intake_body


def fields_of(body) -> list[str]:
    with pytest.raises(InvalidInput) as e:
        parse_dispatch(json.dumps(body, ensure_ascii=False).encode() if not isinstance(body, bytes) else body)
    return [f for f, _ in e.value.errors]


ADDRESS = intake_body()["address"]

BAD = [
    ("recipient.phone", {"recipient": {"name": "王小明", "phone": "12345"}}),
    ("recipient.name", {"recipient": {"name": "", "phone": "13807961234"}}),
    ("address.county", {"address": {k: v for k, v in ADDRESS.items() if k != "county"}}),
    ("address.province", {"address": {**ADDRESS, "province": "  "}}),
    ("address.postcode", {"address": {**ADDRESS, "postcode": "34"}}),
    ("address", {"address": None}),
    ("village_point_code", {"delivery_method": "village_point"}),
    ("items", {"items": []}),
    ("items.0.copies", {"items": [{"kind": "licence", "title": "证", "copies": 0}]}),
    ("weight_g", {"weight_g": 0}),
    ("weight_g", {"weight_g": "heavy"}),
    ("direction", {"direction": "sideways"}),
    ("delivery_method", {"delivery_method": "drone"}),
    ("completed_at", {"completed_at": "2026-11-05T10:00:00"}),
    ("case_no", {"case_no": "has space"}),
    ("declared_value_fen", {"declared_value_fen": -1}),
    ("unexpected", {"unexpected": 1}),
]


@pytest.mark.parametrize(("field", "change"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
def test_each_bad_field_is_named(field, change):
    assert field in fields_of(intake_body(**change))


def test_not_json_and_not_an_object():
    assert fields_of(b"{oops") == ["body"]
    assert fields_of(b"[1,2]") == ["body"]


def test_pickup_needs_no_address_and_landlines_are_accepted():
    body = intake_body(
        delivery_method="pickup", address=None, recipient={"name": "李四", "phone": "0796-7654321"}
    )
    parsed = parse_dispatch(json.dumps(body).encode())
    assert parsed.recipient.phone == "0796-7654321"


def test_hash_ignores_key_order_and_spacing_but_not_content():
    a = intake_body()
    b = dict(reversed(list(intake_body().items())))
    h = request_hash(parse_dispatch(json.dumps(a).encode()))
    assert h == request_hash(parse_dispatch(json.dumps(b, indent=2).encode()))
    assert h != request_hash(parse_dispatch(json.dumps(intake_body(weight_g=201)).encode()))


def test_the_request_hash_is_the_one_earlier_versions_stored():
    """Replays after an upgrade must still match: the hash is sha256 of `model_dump_json()`."""
    import hashlib

    body = parse_dispatch(json.dumps(intake_body(), ensure_ascii=False).encode())
    assert request_hash(body) == hashlib.sha256(body.model_dump_json().encode()).hexdigest()
