"""What every EMS protocol is configured with; each protocol's settings add their own fields."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmsSettings:
    endpoint: str  # the protocol's call endpoint
    sender_no: str  # 协议客户号
    sign_key: str  # the shared secret EMS assigned
    timeout_s: float = 10.0
    biz_product_no: str = "1"  # 1 特快专递
    contents_attribute: str = "1"  # 1 documents 文件
