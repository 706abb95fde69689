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
    ("address.postcode", {"address": {**ADDRESS, "postcode": "٣٤٣٢٠٠"}}),  # digits of another script
    ("recipient.phone", {"recipient": {"name": "王小明", "phone": "1380796١٢٣٤"}}),
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


# ---- free text: control, bidi and invisible-only strings ------------------------------------------

ODD_TEXT = {
    "nul": ("王\x00小明", "控制字符"),
    "newline": ("王小明\r\n收", "控制字符"),
    "tab": ("王\t小明", "控制字符"),
    "c1": ("王\x85小明", "控制字符"),
    "line separator": ("王\u2028小明", "控制字符"),
    "bidi override": ("\u202e王小明", "文字方向"),
    "bidi isolate": ("王\u2067小明\u2069", "文字方向"),
    "zero width only": ("\u200b\u200c\u200d", "不可见"),
    "bom and spaces": ("\ufeff \u3000\u2060", "不可见"),
}
TEXT_FIELDS = [
    ("recipient.name", lambda v: {"recipient": {"name": v, "phone": "13807961234"}}),
    ("address.detail", lambda v: {"address": {**ADDRESS, "detail": v}}),
    ("address.town", lambda v: {"address": {**ADDRESS, "town": v}}),
    ("matter_name", lambda v: {"matter_name": v}),
    ("department_name", lambda v: {"department_name": v}),
    ("items.0.title", lambda v: {"items": [{"kind": "licence", "title": v}]}),
    ("items.0.number", lambda v: {"items": [{"kind": "licence", "title": "证", "number": v}]}),
    ("village_point_code", lambda v: {"delivery_method": "village_point", "village_point_code": v}),
]


@pytest.mark.parametrize("kind", list(ODD_TEXT))
@pytest.mark.parametrize(("field", "change"), TEXT_FIELDS, ids=[f for f, _ in TEXT_FIELDS])
def test_odd_text_is_refused_naming_the_field(kind, field, change):
    value, wording = ODD_TEXT[kind]
    with pytest.raises(InvalidInput) as e:
        parse_dispatch(json.dumps(intake_body(**change(value))).encode())
    assert [f for f, _ in e.value.errors] == [field]
    assert wording in e.value.errors[0][1]


def test_visible_text_with_inner_spaces_and_joiners_is_kept_and_outer_whitespace_stripped():
    recipient = {"name": " 王\u3000小明\n", "phone": "13807961234"}
    body = intake_body(recipient=recipient, matter_name="👩\u200d💻 证")
    parsed = parse_dispatch(json.dumps(body).encode())
    assert parsed.recipient.name == "王\u3000小明" and parsed.matter_name == "👩\u200d💻 证"


def test_every_bad_field_is_named_together_with_the_rules_across_fields():
    """A bad phone used to hide the missing village_point_code (pydantic skips model rules then)."""
    body = intake_body(
        delivery_method="village_point",
        address=None,
        recipient={"name": "\u202e", "phone": "12345"},
        weight_g=0,
    )
    assert sorted(fields_of(body)) == [
        "address", "recipient.name", "recipient.phone", "village_point_code", "weight_g",
    ]  # fmt: skip


def test_rules_across_fields_alone_are_each_named():
    assert sorted(fields_of(intake_body(delivery_method="village_point", address=None))) == [
        "address",
        "village_point_code",
    ]


def test_a_correction_names_bad_text_and_missing_content():
    from logistics.web.api.schemas import CorrectionIn, parse

    with pytest.raises(InvalidInput) as e:
        parse(CorrectionIn, json.dumps({"address": {**ADDRESS, "detail": "\x00"}}).encode())
    assert [f for f, _ in e.value.errors] == ["address.detail"]
    with pytest.raises(InvalidInput) as e:
        parse(CorrectionIn, b'{"extra": 1}')
    assert sorted(f for f, _ in e.value.errors) == ["extra", "recipient"]
