"""The intake request as the approval system sends it, validated with field paths for 422s."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal

import uuid_utils
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from ...domain import validation
from ...domain.errors import InvalidInput
from ...domain.model import Address, DeliveryMethod, Direction, Dispatch, Item, Party, order_no_for

# Strict strips every string (str_strip_whitespace) before its length is checked.
Text = Annotated[str, Field(min_length=1, max_length=200)]


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


class RecipientIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=60)]
    phone: Annotated[str, AfterValidator(_phone)]


class AddressIn(Strict):
    province: Text
    city: Text
    county: Text
    town: Annotated[str, Field(max_length=100)] = ""
    detail: Annotated[str, Field(min_length=1, max_length=300)]
    postcode: Annotated[str, AfterValidator(_postcode)]


class ItemIn(Strict):
    kind: Annotated[str, Field(min_length=1, max_length=40)]
    title: Text
    number: Annotated[str, Field(max_length=100)] = ""
    copies: Annotated[int, Field(ge=1, le=100)] = 1


class DispatchIn(Strict):
    case_no: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
    matter_name: Text
    matter_code: Annotated[str, Field(max_length=64)] = ""
    department_code: Annotated[str, Field(min_length=1, max_length=64)]
    department_name: Text
    direction: Direction
    delivery_method: DeliveryMethod
    recipient: RecipientIn
    address: AddressIn | None = None
    village_point_code: Annotated[str, Field(max_length=64)] | None = None
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=50)]
    weight_g: Annotated[int, Field(gt=0, le=50_000)]
    declared_value_fen: Annotated[int, Field(ge=0, le=100_000_000)] = 0
    completed_at: AwareDatetime

    @model_validator(mode="after")
    def _method_needs(self):
        if self.delivery_method is DeliveryMethod.VILLAGE_POINT and not self.village_point_code:
            raise ValueError("village_point_code: 送达村级代办点时必须填写代办点编码")
        if self.address is None and (
            self.delivery_method is not DeliveryMethod.PICKUP or self.direction is Direction.INBOUND
        ):
            raise ValueError("address: 邮寄必须填写地址")
        return self


class CorrectionIn(Strict):
    """Staff correct the recipient or address of a dispatch the carrier rejected."""

    recipient: RecipientIn | None = None
    address: AddressIn | None = None

    @model_validator(mode="after")
    def _something(self):
        if self.recipient is None and self.address is None:
            raise ValueError("recipient: 请提供要修改的收件人或地址")
        return self

    def domain(self) -> tuple[Party | None, Address | None]:
        r, a = self.recipient, self.address
        party = Party(r.name, r.phone) if r else None
        address = Address(a.province, a.city, a.county, a.detail, a.postcode, a.town) if a else None
        return party, address


_MODEL_FIELDS = set(DispatchIn.model_fields)


def _field_path(error: dict) -> str:
    loc = [str(p) for p in error["loc"]]
    if not loc and error["type"] == "value_error":  # a model-level rule names its field in the message
        head = str(error.get("ctx", {}).get("error", "")).split(":", 1)[0]
        return head if head in _MODEL_FIELDS else ""
    return ".".join(loc)


def _message(error: dict) -> str:
    msg = str(error.get("ctx", {}).get("error", error["msg"]))
    return msg.split(": ", 1)[1] if ": " in msg and msg.split(":", 1)[0] in _MODEL_FIELDS else msg


def parse_dispatch(raw: bytes) -> DispatchIn:
    return parse(DispatchIn, raw)


def parse(model: type[BaseModel], raw: bytes):
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        raise InvalidInput(
            [(_field_path(err) or "body", _message(err)) for err in e.errors(include_url=False)]
        ) from None


def request_hash(body: DispatchIn) -> str:
    """Identical content, whatever the key order or spacing, gives the same hash."""
    # the bytes of `model_dump_json()` (fields in model order), without its decode to str
    return hashlib.sha256(body.__pydantic_serializer__.to_json(body)).hexdigest()


def to_domain(body: DispatchIn, *, client_id: str, now: datetime) -> Dispatch:
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
        order_no=order_no_for(dispatch_id, body.direction),
    )


Role = Literal["dispatcher", "finance", "admin"]
