"""Outbound HTTP to the approval system (审批系统)."""

from .callbacks import HttpCallbackSender
from .pull import HttpPageSource

__all__ = ["HttpCallbackSender", "HttpPageSource"]
