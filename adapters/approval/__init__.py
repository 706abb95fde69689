"""Outbound HTTP to the approval system (审批系统)."""

from .callbacks import HttpCallbackSender

__all__ = ["HttpCallbackSender"]
