from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmsOpenSettings:
    endpoint: str  # the one open-platform URL, e.g. …/amp-prod-api/f/amp/api/open
    sender_no: str  # 协议客户号
    sign_key: str  # Base64 of the 16-byte SM4 key
    authorization: str = ""
    ecommerce_user_id: str = ""
    biz_product_no: str = "1"  # 1 特快专递
    contents_attribute: str = "1"  # 1 documents 文件
    timeout_s: float = 10.0
