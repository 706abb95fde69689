"""Alibaba Cloud SMS (阿里云短信服务, dysmsapi): signing (pure), the request and receipts (pure), the
client (the only I/O) and a loopback simulator that checks requests as the provider does."""

from .client import AliyunSmsNotifier
from .mapping import AliyunSmsSettings, Receipt, parse_receipts

__all__ = ["AliyunSmsNotifier", "AliyunSmsSettings", "Receipt", "parse_receipts"]
