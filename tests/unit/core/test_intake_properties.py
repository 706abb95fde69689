"""Property-based tests of intake validation: the next odd input is found here, not by a user.

Valid bodies are accepted and read back unchanged; a body with one thing wrong is a 422 naming exactly
that field; no input at all makes the parser raise anything but InvalidInput."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logistics.domain import signing, validation
from logistics.domain.errors import InvalidInput
from logistics.web.api.schemas import DispatchIn, parse_dispatch
from tests.fixtures.dispatches import intake_body

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Visible characters: letters, digits, punctuation, symbols (minus the few "letters" that show nothing).
_BLANK_LETTERS = "\u115f\u1160\u3164\uffa0"
visible = st.characters(categories=("L", "N", "P", "S"), exclude_characters=_BLANK_LETTERS)
inner = st.one_of(visible, st.sampled_from(" \u3000\u00a0\u200d"))  # spaces and a joiner inside are fine


@st.composite
def texts(draw, max_size: int, *, required: bool = True) -> str:
    if not required and draw(st.booleans()):
        return ""
    first = draw(visible)
    middle = draw(st.text(inner, max_size=max(0, max_size - 2)))
    return first + (middle + draw(visible) if middle else "")  # visible at both ends: nothing to strip


@st.composite
def valid_bodies(draw) -> dict:
    method = draw(st.sampled_from(["mail", "village_point", "pickup"]))
    direction = draw(st.sampled_from(["outbound", "inbound"]))
    needs_address = method != "pickup" or direction == "inbound"
    address = None
    if needs_address or draw(st.booleans()):
        address = {
            "province": draw(texts(200)),
            "city": draw(texts(200)),
            "county": draw(texts(200)),
            "town": draw(texts(100, required=False)),
            "detail": draw(texts(300)),
            "postcode": draw(st.from_regex(r"\A[0-9]{6}\Z")),
        }
    items = [
        {
            "kind": draw(texts(40)),
            "title": draw(texts(200)),
            "number": draw(texts(100, required=False)),
            "copies": draw(st.integers(1, 100)),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    return intake_body(
        draw(st.from_regex(r"\A[A-Za-z0-9_\-]{1,64}\Z")),
        matter_name=draw(texts(200)),
        matter_code=draw(texts(64, required=False)),
        department_code=draw(texts(64)),
        department_name=draw(texts(200)),
        direction=direction,
        delivery_method=method,
        recipient={"name": draw(texts(60)), "phone": draw(st.from_regex(r"\A1[3-9][0-9]{9}\Z"))},
        address=address,
        village_point_code=draw(texts(64)) if method == "village_point" else None,
        items=items,
        weight_g=draw(st.integers(1, 50_000)),
        declared_value_fen=draw(st.integers(0, 100_000_000)),
    )


def encode(body) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def refused_fields(raw: bytes) -> list[str]:
    try:
        parse_dispatch(raw)
    except InvalidInput as e:
        assert e.errors and all(isinstance(m, str) and m for _, m in e.errors)
        return [f for f, _ in e.errors]
    raise AssertionError("accepted")


@FAST
@given(valid_bodies())
def test_a_valid_body_is_accepted_and_reads_back_unchanged(body):
    parsed = parse_dispatch(encode(body))
    assert parsed.model_dump(mode="json") == DispatchIn.model_validate(body).model_dump(mode="json")
    assert parsed.recipient.name == body["recipient"]["name"]
    if body["address"]:
        assert parsed.address.detail == body["address"]["detail"]
    assert [i.title for i in parsed.items] == [i["title"] for i in body["items"]]
    assert parse_dispatch(parsed.model_dump_json().encode()) == parsed  # round trip


# Where each text field lives: (path, how to put a value there).
TEXT_PATHS = {
    "matter_name": ("matter_name",),
    "department_name": ("department_name",),
    "department_code": ("department_code",),
    "matter_code": ("matter_code",),
    "recipient.name": ("recipient", "name"),
    "address.province": ("address", "province"),
    "address.city": ("address", "city"),
    "address.county": ("address", "county"),
    "address.town": ("address", "town"),
    "address.detail": ("address", "detail"),
    "items.0.kind": ("items", 0, "kind"),
    "items.0.title": ("items", 0, "title"),
    "items.0.number": ("items", 0, "number"),
}
FORBIDDEN = st.one_of(
    st.characters(categories=("Cc",)),
    st.sampled_from("\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
)
INVISIBLE = st.sampled_from("\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u034f")


@st.composite
def odd_texts(draw) -> str:
    """A text that must be refused: a forbidden character somewhere in visible text, or nothing visible."""
    if draw(st.booleans()):  # inside the text: at either end, whitespace (tab, CR, LF …) is stripped
        return draw(visible) + draw(FORBIDDEN) + draw(texts(20))
    padding = st.text(st.one_of(INVISIBLE, st.sampled_from(" \u3000")), max_size=3)
    return draw(padding) + draw(INVISIBLE) + draw(padding)  # spaces alone would be stripped to "" (fine)


def put(body: dict, where: tuple, value) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    for key in where[:-1]:
        if target.get(key) is None if isinstance(target, dict) else False:
            target[key] = dict(intake_body()[key])
        target = target[key]
    target[where[-1]] = value
    if where[0] == "address":
        body["delivery_method"] = "mail"
    return body


@FAST
@given(valid_bodies(), st.sampled_from(sorted(TEXT_PATHS)), odd_texts())
def test_odd_text_in_any_field_is_a_422_naming_exactly_that_field(body, path, value):
    assert refused_fields(encode(put(body, TEXT_PATHS[path], value))) == [path]


WRONG_TYPES = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.booleans(), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip


@FAST
@given(valid_bodies(), st.sampled_from(sorted(TEXT_PATHS)), WRONG_TYPES)
def test_a_wrong_type_is_a_422_naming_exactly_that_field(body, path, value):
    assert refused_fields(encode(put(body, TEXT_PATHS[path], value))) == [path]


REQUIRED = sorted(n for n, f in DispatchIn.model_fields.items() if f.is_required())


@FAST
@given(valid_bodies(), st.sets(st.sampled_from(REQUIRED), min_size=1))
def test_missing_required_fields_are_each_named(body, missing):
    for name in missing:
        del body[name]
    named = set(refused_fields(encode(body)))
    assert missing <= named
    assert named - missing <= {"address", "village_point_code"}  # rules across fields may add these


@FAST
@given(valid_bodies(), st.sampled_from(sorted(TEXT_PATHS)), odd_texts())
def test_a_rule_across_fields_is_named_beside_a_bad_field(body, path, value):
    body = put(body, TEXT_PATHS[path], value)
    body.update(delivery_method="village_point", village_point_code=None)
    expected = {path, "village_point_code"} | ({"address"} if body["address"] is None else set())
    assert sorted(refused_fields(encode(body))) == sorted(expected)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@FAST
@given(st.one_of(st.binary(max_size=200), JSON.map(encode), valid_bodies().flatmap(
    lambda b: st.sampled_from(sorted(b)).flatmap(lambda k: JSON.map(lambda v: encode({**b, k: v})))
)))  # fmt: skip
def test_any_input_is_either_a_dispatch_or_invalid_input_never_another_error(raw):
    try:
        parse_dispatch(raw)
    except InvalidInput as e:
        assert e.errors and all(f and m for f, m in e.errors)


_ASCII_TIMESTAMP = re.compile(r"[0-9]{1,12}")


@FAST
@given(st.one_of(st.text(max_size=14), st.from_regex(r"\A[+\-_ 0-9\uff10-\uff19\u0660-\u0669]{1,13}\Z")))
def test_a_timestamp_is_read_only_from_ascii_digits(text):
    expected = int(text) if _ASCII_TIMESTAMP.fullmatch(text) else None
    assert signing.parse_timestamp(text) == expected


@FAST
@given(st.integers(0, 10**12 - 1))
def test_every_unix_time_written_by_str_is_read_back(seconds):
    assert signing.parse_timestamp(str(seconds)) == seconds


@FAST
@given(st.text(max_size=30))
def test_the_pattern_checked_in_pydantic_and_the_domain_check_agree(text):
    """Both engines read the same character classes: what one refuses the other explains."""
    stripped = text.strip()
    by_pattern = re.fullmatch(validation.TEXT_PATTERN[1:-1], stripped) is not None
    assert by_pattern == (bool(stripped) and validation.text_problem(stripped) is None)
