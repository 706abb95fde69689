"""Carrier adapters and the EMS simulator. `build_carrier` is the one way in for the composition root."""

from __future__ import annotations

from logistics.ports import CarrierGateway

CARRIER_KINDS = ("ems_open", "ems_soap")
REST_PATH = "/api/open"
SOAP_PATH = "/soap"


def build_carrier(
    kind: str,
    *,
    base_url: str,
    sender_no: str,
    sign_key: str,
    timeout_s: float,
    endpoint: str | None = None,
    authorization: str = "",
    session=None,
) -> CarrierGateway:
    """A carrier gateway of `kind`.

    `base_url` is where the service lives (the simulator's base URL, or an EMS host); `endpoint`, when given,
    is the full URL of the call endpoint and wins over `base_url` + the protocol's default path."""
    base = base_url.rstrip("/")
    if kind == "ems_open":
        from .ems.open.client import EmsOpenGateway
        from .ems.open.settings import EmsOpenSettings

        settings = EmsOpenSettings(
            endpoint=endpoint or base + REST_PATH,
            sender_no=sender_no,
            sign_key=sign_key,
            authorization=authorization,
            timeout_s=timeout_s,
        )
        return EmsOpenGateway(settings, session=session)
    if kind == "ems_soap":
        from .ems.soap.client import EmsSoapGateway
        from .ems.soap.settings import EmsSoapSettings

        settings = EmsSoapSettings(
            endpoint=endpoint or base + SOAP_PATH, sender_no=sender_no, sign_key=sign_key, timeout_s=timeout_s
        )
        return EmsSoapGateway(settings, session=session)
    raise ValueError(f"unknown carrier kind {kind!r}; expected one of {', '.join(CARRIER_KINDS)}")
