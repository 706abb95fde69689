"""EMS open-platform REST adapter (api.ems.com.cn generation)."""

from .client import EmsOpenGateway
from .push import InvalidPush, TracePush, parse_trace_push, push_answer
from .settings import EmsOpenSettings

__all__ = ["EmsOpenGateway", "EmsOpenSettings", "InvalidPush", "TracePush", "parse_trace_push", "push_answer"]
