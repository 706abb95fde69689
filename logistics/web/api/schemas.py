"""The intake request as the approval system sends it, validated with field paths for 422s."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Literal

import uuid_utils
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from ...domain import validation
from ...domain.case_progress import Stage
from ...domain.errors import InvalidInput
from ...domain.model import (
    DEFAULT_HALL,
    Address,
    DeliveryMethod,
    Direction,
    Dispatch,
    Item,
    Party,
    order_no_for,
)

# Strict strips every string (str_strip_whitespace) before its length and pattern are checked. Free text
# must not hold control or bidi characters, nor only invisible ones (domain.validation): the pattern is
# checked inside pydantic-core, so a valid request costs no Python call per field.
_TEXT = validation.TEXT_PATTERN
_OPTIONAL = validation.OPTIONAL_TEXT_PATTERN
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=_TEXT)]


def _phone(v: str) -> str:
    phone = validation.normalize_phone(v)
    if not validation.is_normalized_phone(phone):
        raise ValueError("不是有效的手机号或固定电话号码 (mobile 1xxxxxxxxxx or landline 0xxx-xxxxxxx)")
    return phone


def _postcode(v: str) -> str:
    if not validation.is_postcode(v):
        raise ValueError("邮政编码必须是 6 位数字 (6-digit postcode)")
    return v


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# What the two checked-in-Python fields accept, for the OpenAPI document (spaces and brackets are
# also tolerated in a phone number; they are dropped before the check).
_PHONE_SCHEMA = {
    "type": "string",
    "pattern": r"^(\+86|0086)?(1[3-9][0-9]{9}|0[0-9]{2,3}-?[2-9][0-9]{6,7}(-[0-9]{1,6})?)$",
    "description": "手机 1xxxxxxxxxx 或固定电话 0xxx-xxxxxxx (mobile or landline)",
    "examples": ["13807961234", "0796-8123456"],
}
_POSTCODE_SCHEMA = {"type": "string", "pattern": "^[0-9]{6}$", "examples": ["343200"]}
Phone = Annotated[str, AfterValidator(_phone), WithJsonSchema(_PHONE_SCHEMA, mode="validation")]
Postcode = Annotated[str, AfterValidator(_postcode), WithJsonSchema(_POSTCODE_SCHEMA, mode="validation")]


CaseNo = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class RecipientIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=60, pattern=_TEXT)]
    phone: Phone


class AddressIn(Strict):
    province: Text
    city: Text
    county: Text
    town: Annotated[str, Field(max_length=100, pattern=_OPTIONAL)] = ""
    detail: Annotated[str, Field(min_length=1, max_length=300, pattern=_TEXT)]
    postcode: Postcode


class ItemIn(Strict):
    kind: Annotated[str, Field(min_length=1, max_length=40, pattern=_TEXT)]
    title: Text
    number: Annotated[str, Field(max_length=100, pattern=_OPTIONAL)] = ""
    copies: Annotated[int, Field(ge=1, le=100)] = 1


class DispatchIn(Strict):
    case_no: CaseNo
    matter_name: Text
    matter_code: Annotated[str, Field(max_length=64, pattern=_OPTIONAL)] = ""
    department_code: Annotated[str, Field(min_length=1, max_length=64, pattern=_TEXT)]
    department_name: Text
    direction: Direction
    delivery_method: DeliveryMethod
    recipient: RecipientIn
    address: AddressIn | None = None
    village_point_code: Annotated[str, Field(max_length=64, pattern=_OPTIONAL)] | None = None
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=50)]
    weight_g: Annotated[int, Field(gt=0, le=50_000)]
    declared_value_fen: Annotated[int, Field(ge=0, le=100_000_000)] = 0
    completed_at: AwareDatetime

    @model_validator(mode="after")
    def _method_needs(self):
        method, direction = self.delivery_method.value, self.direction.value
        has_address, code = self.address is not None, self.village_point_code
        problems = validation.delivery_problems(method, direction, has_address, code)
        if problems:  # parse() reports each under its field
            raise ValueError("; ".join(f"{f}: {m}" for f, m in problems))
        return self

    @staticmethod
    def cross_field_errors(data: dict) -> list[tuple[str, str]]:
        """The rules across fields, from the raw request: checked even when some fields are wrong."""
        return validation.delivery_problems(
            data.get("delivery_method"),
            data.get("direction"),
            data.get("address") is not None,
            data.get("village_point_code"),
        )


_NOTHING_TO_CORRECT = "请提供要修改的收件人或地址"


class CorrectionIn(Strict):
    """Staff correct the recipient or address of a dispatch the carrier rejected."""

    recipient: RecipientIn | None = None
    address: AddressIn | None = None

    @model_validator(mode="after")
    def _something(self):
        if self.recipient is None and self.address is None:
            raise ValueError("recipient: " + _NOTHING_TO_CORRECT)
        return self

    @staticmethod
    def cross_field_errors(data: dict) -> list[tuple[str, str]]:
        if data.get("recipient") is None and data.get("address") is None:
            return [("recipient", _NOTHING_TO_CORRECT)]
        return []

    def domain(self) -> tuple[Party | None, Address | None]:
        r, a = self.recipient, self.address
        party = Party(r.name, r.phone) if r else None
        address = Address(a.province, a.city, a.county, a.detail, a.postcode, a.town) if a else None
        return party, address


def _message(error: dict) -> str:
    if error["type"] == "string_pattern_mismatch":
        problem = validation.text_problem(error["input"]) if isinstance(error["input"], str) else None
        if problem:
            return problem
    return str(error.get("ctx", {}).get("error", error["msg"]))


def parse_dispatch(raw: bytes) -> DispatchIn:
    return parse(DispatchIn, raw)


def parse(model: type[BaseModel], raw: bytes):
    """The model, or InvalidInput naming every bad field: the fields' own errors and the rules across
    fields (which pydantic checks only once every field is valid, so they are worked out again here)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        raise InvalidInput(_errors(model, raw, e)) from None


def _errors(model: type[BaseModel], raw: bytes, error: ValidationError) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    model_level = False
    for err in error.errors(include_url=False):
        if not err["loc"] and err["type"] == "value_error":
            model_level = True  # a rule across fields: reported below, each under its own field
            continue
        errors.append((".".join(map(str, err["loc"])) or "body", _message(err)))
    rules = getattr(model, "cross_field_errors", None)
    if rules is not None and (model_level or errors[0][0] != "body"):
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            named = {f for f, _ in errors}
            errors += [(f, m) for f, m in rules(data) if f not in named]
    return errors or [("body", str(error))]


def request_hash(body: DispatchIn) -> str:
    """Identical content, whatever the key order or spacing, gives the same hash."""
    # the bytes of `model_dump_json()` (fields in model order), without its decode to str
    return hashlib.sha256(body.__pydantic_serializer__.to_json(body)).hexdigest()


def to_domain(body: DispatchIn, *, client_id: str, now: datetime, hall: str = DEFAULT_HALL) -> Dispatch:
    dispatch_id = str(uuid_utils.uuid7())  # time-ordered: inserts stay on the indexes' last pages
    a = body.address
    address = (
        Address(a.province, a.city, a.county, a.detail, a.postcode, a.town)
        if a
        else Address("", "", "", "", "")
    )
    return Dispatch(
        id=dispatch_id,
        client_id=client_id,
        case_no=body.case_no,
        matter_name=body.matter_name,
        matter_code=body.matter_code,
        department_code=body.department_code,
        department_name=body.department_name,
        direction=body.direction,
        delivery_method=body.delivery_method,
        recipient=Party(body.recipient.name, body.recipient.phone),
        address=address,
        items=tuple(Item(i.kind, i.title, i.number, i.copies) for i in body.items),
        weight_g=body.weight_g,
        declared_value_fen=body.declared_value_fen,
        completed_at=body.completed_at,
        created_at=now,
        village_point_code=body.village_point_code,
        hall=hall,
        order_no=order_no_for(dispatch_id, body.direction),
    )


Role = Literal["dispatcher", "finance", "admin"]


# ---- bodies the staff endpoints read by hand (documented for OpenAPI, issue 16) -----------------

_Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S")]


class LabelsIn(BaseModel):
    ids: list[_Id] = Field(description="dispatch ids, printed in this order")
    size: Literal["100x150", "100x180", "a4"] = "100x150"


class ManifestIn(BaseModel):
    ids: list[_Id]
    courier: Annotated[str, Field(max_length=40)] = Field("", description="揽收人 (the EMS courier)")


class HandoverIn(ManifestIn):
    courier: Annotated[str, Field(min_length=1, max_length=40, pattern=r"\S")]
    manifest_id: Annotated[str, Field(max_length=64)] | None = None


class CloseIn(BaseModel):
    run_id: Annotated[str, Field(min_length=1)] = Field(description="the reconciliation run to freeze")


# ---- case progress (办件进度) -------------------------------------------------------------------


def _plausible(at: datetime) -> datetime:
    if not 2000 <= at.year <= 2099:  # nor a time whose UTC would overflow
        raise ValueError("时间须在 2000 至 2099 年之间 (a time between 2000 and 2099)")
    return at


When = Annotated[AwareDatetime, AfterValidator(_plausible)]


class CaseEventIn(Strict):
    """One stage of a case as the approval system posts it; `applicant_phone` and `matter_name` are
    required on the case's first event (later ones may leave them out)."""

    stage: Stage
    at: When
    applicant_phone: Phone | None = None
    matter_name: Text | None = None
    note: Annotated[
        str,
        Field(
            max_length=500,
            pattern=_OPTIONAL,
            description="shown to the citizen after the stage's text (公开给申请人): phone and ID "
            "numbers are masked, names are not — write none",
        ),
    ] = ""


def parse_case_no(value: str) -> str:
    """A case number from a path: the same rule as intake's `case_no` (InvalidInput naming it)."""
    try:
        return _CASE_NO.validate_python(value)
    except ValidationError as e:
        raise InvalidInput([("case_no", _message(e.errors(include_url=False)[0]))]) from None


_CASE_NO = TypeAdapter(CaseNo)
