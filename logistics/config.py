"""Settings from CERTPOST_* environment variables, or a TOML file (--config / CERTPOST_CONFIG)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .domain.hall import DEFAULT_HALL, HALL_CODE, Hall
from .domain.service_limits import ServiceLimits

SAMPLE_HALL = Hall(
    name="县政务服务中心",
    phone="07968888888",
    province="江西省",
    city="吉安市",
    county="安福县",
    address="平都镇政务服务中心",
    postcode="343200",
)
"""The hall a fresh machine (and the demo) sends from; CERTPOST_ORIGIN replaces any of its fields."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CERTPOST_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./certpost.db"
    sqlite_fast_writes: bool = True
    """SQLite only: intake's group commit writes raw rows on the event loop's thread and fsyncs the WAL
    in a thread (`storage.sqlite`); off, it writes through SQLAlchemy as on PostgreSQL."""
    clients: dict[str, str] = Field(default_factory=dict)
    """CERTPOST_CLIENTS: {client_id: secret}; a value may be {"secret": …, "hall": CODE}."""
    client_halls: dict[str, str] = Field(default_factory=dict)
    """{client_id: hall code} of the clients bound to a hall (from CERTPOST_CLIENTS); others: the default."""
    carrier: str = "sandbox"
    """`sandbox` (the built-in EMS simulator over ems_open), `ems_open` or `ems_soap`."""
    sandbox_protocol: str = "ems_open"
    """Which protocol the gateway speaks to the built-in simulator: `ems_open` or `ems_soap`."""
    sandbox_rate_per_s: float | None = None
    carrier_rate_per_s: float | None = None
    """Requests per second the carrier allows the whole deployment; we pace our calls to it instead of
    collecting 429s. Several instances on one database share it out (each runs at its share, weighted by
    the calls it has waiting, recomputed every heartbeat). Unset: the pace is learned from 429s, shared
    through the database like the carrier's Retry-After."""
    pool_offline: bool = True
    """While the carrier is unreachable, book with a pre-allocated waybill number (needs a protocol
    with number allocation, e.g. ems_soap) and report it to the carrier when it is back."""
    pool_low_watermark: int = 20
    pool_batch: int = 50
    carrier_url: str = ""
    carrier_sender_no: str = ""
    carrier_sign_key: str = ""
    """The real carrier's endpoint and credentials (ems_open / ems_soap): required there, and never the
    simulator's published ones. With `sandbox` the simulator's own (adapters.sandbox) are used."""
    carrier_timeout_s: float = 10.0
    carrier_concurrency: int = 32
    origin: Hall = SAMPLE_HALL
    """CERTPOST_ORIGIN: the sending hall (寄件人), the default hall's."""
    public_url: str = ""
    auto_book: bool = True
    workers: int = 32  # job tasks; carrier calls wait on the network, so many are cheap
    booking_batch: int = 50
    """`book` jobs claimed and started together (one transaction moves them all to `booking`)."""
    booking_in_flight: int = 200
    """`book` jobs running at once; they wait for the carrier's rate, so this is its queue: a few tenths
    of a second of carrier_rate_per_s is enough, and their leases (job_lease_s) run while they wait: with a
    carrier rate set, at most a quarter lease's worth of it (and at least one batch) run at once."""
    job_max_attempts: int = 8
    job_lease_s: float = 60.0
    signature_window_s: int = 300
    max_body_bytes: int = 1024 * 1024
    # an uploaded XLSX statement (reconciliation.xlsx_guard): what it may inflate to, rows, columns
    statement_max_uncompressed_mb: int = 200
    statement_max_ratio: int = 100
    statement_max_rows: int = 2_000_000
    statement_max_columns: int = 100
    log_level: str = "INFO"
    # ---- tracking, callbacks, citizen page (issue 5) ----
    callback_url: str = ""
    """The approval system's endpoint for delivered / delivery_failed / returned / picked_up callbacks."""
    callback_max_attempts: int = 10
    callback_retry_base_s: float = 5.0
    callback_timeout_s: float = 10.0
    stuck_days: float = 3.0
    scheduler: bool = True
    scheduler_lease_s: float = 9.0
    """The periodic work's lease, renewed every third of it: after its holder dies another instance takes
    it over within `scheduler_lease_s * 4 / 3` (12 s by default)."""
    instance_heartbeat_s: float = 1.0
    """How often an instance heartbeats (`instances`) and recomputes its share of the carrier's rate."""
    instance_dead_after_s: float = 10.0
    """An instance whose heartbeat is older than this is dead: its claimed jobs go back to the queue."""
    stop_grace_s: float = 5.0
    """On a graceful stop, how long running jobs may take to finish before they are handed back."""
    poll_tick_s: float = 15.0
    poll_sweep_limit: int = 5000
    poll_hold_s: float = 900.0
    poll_batch: int = 50
    poll_first_s: float = 600.0
    """After booking, wait this long for pushes before the first poll."""
    poll_out_for_delivery_s: float = 900.0
    poll_active_s: float = 3600.0
    poll_quiet_s: float = 6 * 3600.0
    poll_quiet_after_s: float = 2 * 86400.0
    poll_not_collected_s: float = 3 * 3600.0
    poll_error_s: float = 300.0
    tracking_max_age_days: float = 30.0
    citizen_max_failures: int = 10
    """Failed citizen lookups per client address in `citizen_failure_window_s`, then 429."""
    citizen_failure_window_s: float = 900.0
    citizen_max_failures_per_waybill: int = 30
    """Failed lookups of one waybill number (from any address) in `citizen_number_failure_window_s`."""
    citizen_max_failures_per_case: int = 30
    citizen_number_failure_window_s: float = 86400.0
    citizen_max_in_flight: int = 4
    """Lookups of one number answered at once by an instance (a burst of guesses waits for its count)."""
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Reverse proxies (IPs or CIDRs; a JSON list or comma-separated) whose X-Forwarded-For is believed."""

    # ---- pull intake (issue 16) ----
    pull_url: str = ""
    """The approval system's list of completed cases, polled when it cannot push (CONTRACT "Pull intake")."""
    pull_client: str = ""
    """The client id (of `clients`) the pulled dispatches belong to; its secret signs each poll."""
    pull_limit: Annotated[int, Field(ge=1, le=1000)] = 50
    pull_interval_s: Annotated[float, Field(gt=0)] = 10.0
    """Between polls once caught up; also the first step of the backoff while the approval system is down."""
    pull_backoff_max_s: float = 600.0
    pull_timeout_s: float = 30.0
    pull_max_page_bytes: int = 64 * 1024 * 1024
    # ---- end pull intake

    # ---- back-office console (issue 7) ----
    console_session_hours: float = 10.0
    """A console session ends after this long without a request (a working day)."""
    console_cookie_secure: bool | None = None
    """Mark the session cookie Secure: None decides by the request (https, or X-Forwarded-Proto: https
    from a trusted proxy when console_trust_proxy is on)."""
    console_trust_proxy: bool = False
    console_max_failures: int = 5
    """Wrong passwords in a row before a name is locked out."""
    console_lockout_minutes: float = 15.0
    pickup_code_hours: float = 72.0
    """How long a self-pickup code sent by SMS stays valid."""
    pickup_code_attempts: int = 5
    # ---- SMS to citizens (issue 15) ----
    sms: Literal["simulator", "none", "aliyun"] = "simulator"
    """`simulator`: messages are recorded (listed at {sandbox}/_control/sms; only with the built-in EMS
    simulator, otherwise it is `none`); `none`: no SMS, pickup codes are printed on slips (取件通知单);
    `aliyun`: Alibaba Cloud SMS (dysmsapi SendSms), with the aliyun_sms_* settings."""
    sms_max_attempts: int = 10
    """An SMS that meets a provider outage is tried this often (backoff from sms_retry_base_s), then
    dead-lettered; a pickup code then goes to the slip queue."""
    sms_retry_base_s: float = 5.0
    sms_timeout_s: float = 10.0
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    aliyun_sms_region: str = "cn-hangzhou"
    aliyun_sms_access_key_id: str = ""
    aliyun_sms_access_key_secret: str = ""
    aliyun_sms_sign_name: str = ""
    """The approved sign name (短信签名), e.g. 安福县政务服务中心."""
    aliyun_sms_templates: dict[str, str] = Field(default_factory=dict)
    """{message kind: approved TemplateCode}: pickup_code (required), booked, out_for_delivery, delivered,
    delivery_failed. A kind without a code is not sent (its notice says so)."""
    aliyun_sms_throttle_retry_s: float = 60.0
    """After Aliyun's flow control (isv.BUSINESS_LIMIT_CONTROL: per number per minute/hour/day), wait
    at least this long before trying again."""
    aliyun_sms_receipt_token: str = ""
    """Shared token in the receipt URL configured at Aliyun (POST /api/v1/sms/aliyun/receipts?token=…);
    empty: receipts are not accepted."""
    ontime_days: float = 3.0
    """A certificate counts as on time when delivered within this many days of completion."""
    service_limits: dict = Field(default_factory=dict)
    """Supervision's limits (服务时限) from completion to handover and to delivery, a JSON object: see
    `domain.service_limits` and the README; checked at start."""
    # ---- end console

    @model_validator(mode="before")
    @classmethod
    def _bound_clients(cls, data):
        """CERTPOST_CLIENTS values that are {"secret", "hall"} objects: the secret stays in `clients`, the
        hall goes to `client_halls`."""
        if not isinstance(data, dict) or not isinstance(data.get("clients"), dict):
            return data
        clients, halls = {}, dict(data.get("client_halls") or {})
        for client_id, value in data["clients"].items():
            if isinstance(value, dict):
                unknown = set(value) - {"secret", "hall"}
                if unknown or not isinstance(value.get("secret"), str):
                    raise ValueError(f'clients.{client_id}: a secret string, or {{"secret": …, "hall": …}}')
                if value.get("hall") is not None:
                    if not isinstance(value["hall"], str) or not HALL_CODE.fullmatch(value["hall"]):
                        raise ValueError(f"clients.{client_id}.hall: not a hall code")
                    halls[client_id] = value["hall"]
                value = value["secret"]
            clients[client_id] = value
        return {**data, "clients": clients, "client_halls": halls}

    def client_hall(self, client_id: str) -> str:
        """The hall a machine client's dispatches belong to."""
        return self.client_halls.get(client_id, DEFAULT_HALL)

    @field_validator("origin", mode="before")
    @classmethod
    def _over_the_sample(cls, value):
        """The fields given replace the sample hall's; the default hall's code is always DEFAULT_HALL."""
        if isinstance(value, dict):
            return {**asdict(SAMPLE_HALL), **value, "code": DEFAULT_HALL}
        return value

    @model_validator(mode="after")
    def _aliyun_complete(self):
        """With `sms=aliyun` the keys, the sign name and the pickup_code template are required."""
        if self.sms == "aliyun":
            needed = {
                "aliyun_sms_access_key_id": self.aliyun_sms_access_key_id,
                "aliyun_sms_access_key_secret": self.aliyun_sms_access_key_secret,
                "aliyun_sms_sign_name": self.aliyun_sms_sign_name,
                "aliyun_sms_templates.pickup_code": self.aliyun_sms_templates.get("pickup_code", ""),
            }
            missing = [name for name, value in needed.items() if not value.strip()]
            if missing:
                raise ValueError(f"sms=aliyun needs {', '.join(missing)}")
        return self

    @field_validator("service_limits")
    @classmethod
    def _limits(cls, value: dict) -> dict:
        ServiceLimits.parse(value)  # a ValueError names the key
        return value

    def limits(self) -> ServiceLimits:
        return ServiceLimits.parse(self.service_limits)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value) -> list[str]:
        if isinstance(value, str):
            value = (
                json.loads(value)
                if value.strip().startswith("[")
                else [v for v in value.split(",") if v.strip()]
            )
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("a list of IP addresses or networks")
        for entry in value:
            try:
                ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry!r}") from None
        return [entry.strip() for entry in value]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get("CERTPOST_CONFIG")
        if path and Path(path).exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)
