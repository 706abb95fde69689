"""How a simulated parcel moves: stages, the real EMS opCodes each stage emits, and the allowed paths."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

MAIN_LINE = ("created", "handed_over", "in_transit", "out_for_delivery")
STAGES = frozenset({*MAIN_LINE[1:], "delivered", "delivery_failed", "returned"})
FINAL = frozenset({"delivered", "returned", "cancelled"})


@dataclass(frozen=True)
class Area:
    """Where a parcel starts or ends; its scans happen at offices of these."""

    prov: str
    city: str
    county: str


@dataclass(frozen=True)
class Scan:
    op_code: str
    op_name: str
    op_desc: str
    org_name: str
    org_prov: str
    org_city: str
    time: datetime | None = None

    def at(self, moment: datetime) -> Scan:
        return replace(self, time=moment)


def scans_for(stage: str, origin: Area, destination: Area) -> list[Scan]:
    hall = (f"{origin.county}邮政营业部", origin.prov, origin.city)
    centre = (f"{destination.city}邮区中心局", destination.prov, destination.city)
    office = (f"{destination.county}揽投部", destination.prov, destination.city)
    table = {
        "handed_over": [("203", "收寄计费信息", "邮件已收寄", hall)],
        "in_transit": [
            ("305", "揽投发运", "邮件已从收寄局发出", hall),
            ("954", "到达处理中心", "邮件到达处理中心", centre),
            ("389", "处理中心封发", "邮件已封发", centre),
            ("306", "揽投解车", "邮件到达投递局", office),
        ],
        "out_for_delivery": [("702", "投递邮件接收-下段", "邮件正在投递", office)],
        "delivered": [("704", "投递结果反馈-妥投", "已妥投，本人签收", office)],
        "delivery_failed": [("705", "投递结果反馈-未妥投", "收件人不在，未妥投", office)],
        "returned": [
            ("711", "退回", "邮件退回寄件人", office),
            ("714", "退回妥投", "退回邮件已由寄件人签收", hall),
        ],
    }
    return [Scan(code, name, desc, *org) for code, name, desc, org in table[stage]]


def path_to(current: str, to: str) -> list[str] | None:
    """The stages from `current` to `to` in order; [] when already there, None when impossible."""
    if current == to:
        return []
    if current in FINAL:
        return None
    if to in MAIN_LINE:
        if current == "delivery_failed":
            return ["out_for_delivery"] if to == "out_for_delivery" else None
        i, j = MAIN_LINE.index(current), MAIN_LINE.index(to)
        return list(MAIN_LINE[i + 1 : j + 1]) if j > i else None
    if to in ("delivered", "delivery_failed"):
        before = path_to(current, "out_for_delivery")
        return None if before is None else [*before, to]
    before = path_to(current, "delivery_failed")  # returned: only after a failed delivery
    return None if before is None else [*before, to]
