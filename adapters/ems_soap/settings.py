from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmsSoapSettings:
    endpoint: str  # the WebService address; the WSDL itself is read from the repository
    sender_no: str  # 协议客户号
    sign_key: str  # shared secret for the auth signature
    timeout_s: float = 10.0
    biz_product_no: str = "1"  # 1 特快专递
    contents_attribute: str = "1"  # 1 documents 文件
    business_type: int = 1  # getBillNumBySys: 1 standard EMS
    pay_mode: int = 2  # updatePrintDatas: 2 on account (government monthly settlement)
