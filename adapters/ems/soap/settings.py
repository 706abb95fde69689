from __future__ import annotations

from dataclasses import dataclass

from ..settings import EmsSettings


@dataclass(frozen=True)
class EmsSoapSettings(EmsSettings):
    """`endpoint` is the WebService address (the WSDL itself is read from the repository); `sign_key` signs
    the auth block."""

    business_type: int = 1  # getBillNumBySys: 1 standard EMS
    pay_mode: int = 2  # updatePrintDatas: 2 on account (government monthly settlement)
