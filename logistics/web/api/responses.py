"""The JSON the `/api/v1` endpoints answer, as pydantic models: the OpenAPI document's response schemas,
and what the tests validate real answers against. The handlers still build plain dicts (service.views);
these models describe them (extra keys are allowed, so adding a field never breaks a client)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ...domain.status import Status

StatusName = Literal[tuple(s.value for s in Status)]  # type: ignore[valid-type]
When = Annotated[str, Field(description="ISO 8601 time with offset", examples=["2026-11-05T10:00:00+08:00"])]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FieldError(BaseModel):
    field: str = Field(description="the field's path, e.g. `address.county`, `items.0.copies`, `body`")
    message: str = Field(description="what is wrong, in Chinese (often with an English gloss)")


class Error(Open):
    """Every refusal: a one-line reason (401, 403, 404, 409, 413, 429 …)."""

    error: str


class InvalidError(Open):
    """422: every bad field, each under its own path."""

    error: str = Field(examples=["invalid input"])
    errors: list[FieldError] = Field(min_length=1)


class NotBookedError(Open):
    """409 from labels and manifests: the dispatches that cannot be printed or handed over yet."""

    error: str
    dispatches: list[dict] = Field(default_factory=list)


class PartyOut(Open):
    name: str
    phone: str


class AddressOut(Open):
    province: str
    city: str
    county: str
    town: str
    detail: str
    postcode: str


class ItemOut(Open):
    kind: str
    title: str
    number: str
    copies: int


class DispatchOut(Open):
    """A dispatch (finance sees the recipient's name, phone and house number masked)."""

    id: str
    case_no: str
    status: StatusName
    waybill_no: str | None = Field(description="null until booked")
    order_no: str | None
    reason: str | None
    direction: Literal["outbound", "inbound"]
    delivery_method: Literal["mail", "village_point", "pickup"]
    matter_name: str
    matter_code: str
    department_code: str
    department_name: str
    recipient: PartyOut
    address: AddressOut
    village_point_code: str | None
    items: list[ItemOut]
    weight_g: int
    declared_value_fen: int
    completed_at: When
    created_at: When
    updated_at: When
    hall: str = Field(description="大厅编码 the code of the hall the dispatch belongs to")


class AuditEventOut(Open):
    at: When
    actor: str
    cause: str
    from_status: StatusName | None
    to_status: StatusName | None
    detail: dict = Field(description="what changed (ids and codes; no personal data)")


class DispatchDetailOut(DispatchOut):
    events: list[AuditEventOut] = Field(description="the audit trail (留痕), oldest first")


class DispatchListOut(Open):
    total: int
    dispatches: list[DispatchOut]


class TrackEventOut(Open):
    time: When
    status: str
    status_text: str
    description: str
    location: str


StageName = Literal["registered", "accepted", "reviewing", "site_inspection", "completed", "rejected"]


class CaseEventOut(Open):
    """A stage of a case as stored (the answer to the approval system; no phone number)."""

    case_no: str
    stage: StageName
    stage_text: str = Field(description="登记、受理、审核、现场勘察、办结、不予受理")
    description: str
    at: When
    note: str
    matter_name: str
    created_at: When


class TrackStageOut(Open):
    stage: StageName
    stage_text: str
    time: When
    description: str = Field(description="in Chinese, e.g. 申请已受理")


class TrackParcelOut(Open):
    direction: Literal["outbound", "inbound"]
    direction_text: str = Field(description="证照寄送 (the result) or 材料收取 (the applicant's materials)")
    delivery_method: Literal["mail", "village_point", "pickup"]
    status: StatusName
    status_text: str
    waybill_no: str | None
    carrier: str
    recipient: PartyOut
    destination: str
    reason: str
    updated_at: When
    events: list[TrackEventOut]


class TrackOut(Open):
    """The citizen's view: names and phones masked, texts in Chinese. The top-level parcel fields are
    the outbound parcel's (else the only one's); before any parcel exists a case number still finds the
    case by its stages: `status` is then its latest stage, `waybill_no` null, `events` and `parcels`
    empty, and the parcel's own fields absent."""

    status: StatusName | StageName
    status_text: str
    waybill_no: str | None
    case_no: str
    direction: Literal["outbound", "inbound"] | None = Field(
        None, description="the top-level parcel's; inbound: `recipient` is the applicant it is collected from"
    )
    carrier: str | None = None
    matter_name: str
    department_name: str | None = None
    completed_at: When | None = None
    recipient: PartyOut | None = None
    destination: str | None = None
    reason: str | None = None
    updated_at: When
    events: list[TrackEventOut] = Field(description="the parcel's scans and pickup steps, newest first")
    case_events: list[TrackStageOut] = Field(description="办件进度: the case's stages, oldest first")
    parcels: list[TrackParcelOut] = Field(
        description="by case number: every parcel of the case (one per direction); by waybill: that parcel"
    )


class ExceptionOut(Open):
    kind: str = Field(description="stuck, delivery_failed, returned, booking_failed or dead_job")
    dispatch_id: str | None
    case_no: str | None
    waybill_no: str | None
    status: str | None
    reason: str
    since: When
    age_s: int


class ExceptionsOut(Open):
    total: int
    counts: dict[str, int]
    exceptions: list[ExceptionOut]


class JobRetryOut(Open):
    id: int
    state: str


class MetricsOut(Open):
    counters: dict[str, int]
    jobs: dict[str, int]
    tracking_active: int


class BriefOut(Open):
    id: str
    case_no: str
    waybill_no: str | None
    status: StatusName


class HandoverOut(Open):
    manifest_id: str | None
    courier: str
    handed_over: list[BriefOut]
    skipped: list[BriefOut]


class RunOut(Open):
    """A stored reconciliation run: its identity and the report's totals (every key but the findings)."""

    id: str
    period: str
    filename: str
    sha256: str
    hall: str = Field(description="大厅编码 the hall whose statement it is")
    tariff: str
    created_by: str
    created_at: When


class RunCreatedOut(RunOut):
    created: bool = Field(description="false: the same file, tariff and month were reconciled before")


class RunListOut(Open):
    reconciliations: list[RunOut]


class ReconciliationOut(Open):
    """The contract's reconciliation JSON (see CONTRACT: Reconciliation output)."""

    period: str
    totals: dict
    findings: list[dict]
    departments: list[dict]


class PeriodOut(Open):
    period: str
    status: Literal["open", "closed"]
    run_id: str | None
    closed_by: str | None
    closed_at: When | None
    frozen: dict | None
    runs: list[dict]


class PushAnswer(Open):
    """EMS 040002's answer format; a code other than success makes EMS push again."""

    serialNo: str
    code: str
    codeMessage: str
    senderNo: str


class CallbackEvent(Open):
    """What certpost POSTs to the approval system (`CERTPOST_CALLBACK_URL`), signed like intake."""

    event_id: str = Field(description="the notice id: the same event may arrive again, drop a repeat")
    dispatch_id: str
    case_no: str
    direction: Literal["outbound", "inbound"] = Field(description="a case may have one of each")
    status: Literal["delivered", "delivery_failed", "returned", "picked_up"]
    waybill_no: str | None
    time: When = Field(description="when it happened (China time)")
    reason: str = Field(description="why delivery failed or the parcel came back, else empty")
    location: str
