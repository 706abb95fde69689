"""The EMS simulator: a real aiohttp server speaking the open platform and the WebService, with faults."""

from .app import (
    DEFAULT_SENDER_NO,
    DEFAULT_SIGN_KEY,
    REST_PATH,
    SANDBOX,
    SOAP_PATH,
    STATE,
    create_sandbox_app,
    run_sandbox,
    start_sandbox,
)
from .control import CONTROL_GUARD
from .state import SandboxState

__all__ = [
    "CONTROL_GUARD",
    "DEFAULT_SENDER_NO",
    "DEFAULT_SIGN_KEY",
    "REST_PATH",
    "SANDBOX",
    "SOAP_PATH",
    "STATE",
    "SandboxState",
    "create_sandbox_app",
    "run_sandbox",
    "start_sandbox",
]
