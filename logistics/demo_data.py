"""Sample data for `certpost demo`: the approval system's dispatches (Chinese sample people and places in
安福县) and the monthly EMS statement built from the simulator's orders. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

HEADER = ("邮件号", "收寄日期", "寄达省", "寄达市", "寄达县", "计费重量(克)", "资费(元)", "保价费(元)",
          "其他费用(元)", "应收合计(元)")  # fmt: skip
"""The contract's default statement layout."""

OVERCHARGE_FEN = 300
UNKNOWN_FEN = 800


@dataclass(frozen=True)
class Sample:
    """One dispatch of the story: its intake body and what the demo does with it afterwards."""

    key: str
    role: str  # Chinese, for the summary
    body: dict
    advance_to: str | None = None  # the simulator stage the parcel is taken to (None: not carried)
    printed: bool = False  # outbound parcels the hall labels and hands over by manifest

    @property
    def phone_last4(self) -> str:
        return self.body["recipient"]["phone"][-4:]


def _address(town: str, detail: str, *, county="安福县", city="吉安市", postcode="343200") -> dict:
    return {"province": "江西省", "city": city, "county": county, "town": town, "detail": detail,
            "postcode": postcode}  # fmt: skip


VILLAGE_POINTS = [  # registered by staff before the approval system sends parcels there
    {"code": "AF-ZZ-01", "name": "章庄村便民服务代办点", "town": "章庄乡", "clerk_name": "罗秀英",
     "clerk_phone": "13907963456", "address": _address("章庄乡", "章庄村便民服务代办点")},
]  # fmt: skip


def _body(case_no: str, completed_at: str, **fields) -> dict:
    body = {
        "case_no": case_no,
        "matter_name": "食品经营许可证核发",
        "matter_code": "11360829MB1234567X4000113001",
        "department_code": "SCJGJ",
        "department_name": "安福县市场监督管理局",
        "direction": "outbound",
        "delivery_method": "mail",
        "village_point_code": None,
        "weight_g": 200,
        "declared_value_fen": 0,
        "completed_at": completed_at,
    }
    body.update(fields)
    return body


def samples(day: str, completed_at: str) -> list[Sample]:
    """The story's dispatches; `day` is YYYYMMDD (case numbers), `completed_at` an ISO time with offset."""

    def case(n: int) -> str:
        return f"AFDEMO{day}{n:03d}"

    return [
        Sample("mail-delivered", "邮寄到户（洲湖镇），已投递", _body(
            case(1), completed_at,
            recipient={"name": "王小明", "phone": "13807961234"},
            address=_address("洲湖镇", "王屯村12号"),
            items=[{"kind": "licence", "title": "食品经营许可证", "number": "JY13608290012345", "copies": 1}],
        ), advance_to="delivered", printed=True),
        Sample("mail-failed", "邮寄到户（严田镇），投递失败", _body(
            case(2), completed_at,
            matter_name="营业执照设立登记", department_code="SCJGJ",
            recipient={"name": "李秀英", "phone": "15907962345"},
            address=_address("严田镇", "严田村委会旁李家巷3号"),
            items=[{"kind": "licence", "title": "营业执照（正本）", "number": "91360829MA3ABCDE1X"}],
        ), advance_to="delivery_failed", printed=True),
        Sample("mail-city", "邮寄到户（吉州区，市内），运输中", _body(
            case(3), completed_at,
            matter_name="不动产权证书核发", matter_code="11360829MB1234567X4000227002",
            department_code="ZRZYJ", department_name="安福县自然资源局",
            recipient={"name": "刘建华", "phone": "13979683456"},
            address=_address("白塘街道", "井冈山大道88号2栋1单元502室", county="吉州区", postcode="343000"),
            items=[{"kind": "certificate", "title": "不动产权证书", "number": "赣(2026)安福县不动产权第0012345号"}],  # noqa: E501
            weight_g=800,
        ), advance_to="in_transit", printed=True),
        Sample("village", "村级代办点（章庄乡），已到代办点待领取", _body(
            case(4), completed_at,
            matter_name="残疾人证换领", matter_code="11360829MB1234567X4000335001",
            department_code="CLJ", department_name="安福县残疾人联合会",
            delivery_method="village_point", village_point_code="AF-ZZ-01",
            recipient={"name": "周桂兰", "phone": "18779614567"},
            address=_address("章庄乡", "章庄村便民服务代办点"),
            items=[{"kind": "certificate", "title": "中华人民共和国残疾人证", "number": "36082919500101002X11"}],  # noqa: E501
        ), advance_to="delivered", printed=True),
        Sample("pickup", "大厅自取，待领取", _body(
            case(5), completed_at,
            matter_name="社会保障卡补领", matter_code="11360829MB1234567X4000441003",
            department_code="RSJ", department_name="安福县人力资源和社会保障局",
            delivery_method="pickup",
            recipient={"name": "陈志强", "phone": "13607965678"},
            address=_address("平都镇", "城北路16号"),
            items=[{"kind": "card", "title": "社会保障卡", "number": ""}],
        )),
        Sample("inbound", "上门收件（横龙镇申请材料寄回大厅），已收到", _body(
            case(6), completed_at,
            matter_name="城乡居民养老保险待遇申领", matter_code="11360829MB1234567X4000441017",
            department_code="RSJ", department_name="安福县人力资源和社会保障局",
            direction="inbound",
            recipient={"name": "赵德明", "phone": "13517966789"},
            address=_address("横龙镇", "旦上村5组21号"),
            items=[{"kind": "materials", "title": "申请材料（身份证复印件、户口簿复印件）", "copies": 2}],
            weight_g=300,
        ), advance_to="delivered"),
        Sample("unreachable", "邮寄到户（地址不可达），下单失败", _body(
            case(7), completed_at,
            matter_name="食品生产许可证变更", department_code="SCJGJ",
            recipient={"name": "孙丽华", "phone": "13807967890"},
            address=_address("泰山乡", "不可达山区林场工区"),
            items=[{"kind": "licence", "title": "食品生产许可证", "number": "SC10636082900123"}],
        )),
    ]  # fmt: skip


def signed_headers(client_id: str, secret: str, body: bytes, ts: int) -> dict[str, str]:
    """The contract's machine-client signature: HMAC-SHA256(secret, "<timestamp>.<raw body>")."""
    signature = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Client-Id": client_id, "X-Timestamp": str(ts), "X-Signature": signature,
            "Content-Type": "application/json"}  # fmt: skip


# ---- the monthly EMS statement -------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    waybill_no: str
    day: str  # YYYY-MM-DD
    province: str
    city: str
    county: str
    chargeable_g: int
    postage_fen: int
    insurance_fen: int = 0
    other_fen: int = 0

    @property
    def total_fen(self) -> int:
        return self.postage_fen + self.insurance_fen + self.other_fen


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def priced_line(dispatch: dict, day: str, tariff, origin) -> Line:
    """A line as EMS bills it under the contracted tariff (`reconciliation.Tariff`, the `Hall`)."""
    a = dispatch["address"]
    version = tariff.version_on(datetime.strptime(day, "%Y-%m-%d").date())
    zone = version.zone_for(origin, a["province"], a["city"], a["county"])
    weight, declared = dispatch["weight_g"], dispatch.get("declared_value_fen") or 0
    total = version.fee_fen(zone, weight, declared)
    insurance = version.insurance_fen(declared) if declared else 0
    return Line(dispatch["waybill_no"], day, a["province"], a["city"], a["county"],
                version.chargeable_weight_g(zone, weight), total - insurance, insurance)  # fmt: skip


def unknown_waybill(known: list[str]) -> str:
    """A well-formed waybill number (same prefix and suffix, valid check digit) EMS never booked for us."""
    from adapters.ems.s10 import make_waybill_no

    base = sorted(known)[-1] if known else "1100000000000"
    taken = set(known)
    serial = int(base[2:10]) + 9000
    while (number := make_waybill_no(base[:2], serial, base[11:] or "00")) in taken:
        serial += 1
    return number


def statement_csv(lines: list[Line], period: str, title: str = "中国邮政速递物流 月结客户对账单") -> bytes:
    """The contract's default layout as Excel exports it: title rows, header, lines, totals row; GBK."""
    rows = [
        title,
        f"客户名称：安福县政务服务中心,账期：{period}",
        ",".join(HEADER),
        *(
            ",".join(
                [
                    ln.waybill_no,
                    ln.day,
                    ln.province,
                    ln.city,
                    ln.county,
                    str(ln.chargeable_g),
                    yuan(ln.postage_fen),
                    yuan(ln.insurance_fen),
                    yuan(ln.other_fen),
                    yuan(ln.total_fen),
                ]
            )
            for ln in lines
        ),
        ",".join(
            [
                "合计",
                "",
                "",
                "",
                "",
                "",
                yuan(sum(ln.postage_fen for ln in lines)),
                yuan(sum(ln.insurance_fen for ln in lines)),
                yuan(sum(ln.other_fen for ln in lines)),
                yuan(sum(ln.total_fen for ln in lines)),
            ]
        ),
        "",
    ]
    return "\r\n".join(rows).encode("gbk")


STAGES = (("registered", 72, "网上申请已登记"), ("accepted", 48, "材料齐全，予以受理"),
          ("reviewing", 24, "部门审核中"), ("completed", 0, "审批通过，证照已制证"))  # fmt: skip
"""The approval system's stages of each case (办件进度): (stage, hours before completion, note)."""


def case_stages(sample: Sample) -> list[dict]:
    """The stage events the approval system posts for a sample's case before submitting its dispatch;
    the first carries the applicant's phone and the matter."""
    completed = datetime.fromisoformat(sample.body["completed_at"])
    events = [
        {"stage": stage, "at": (completed - timedelta(hours=hours)).isoformat(), "note": note}
        for stage, hours, note in STAGES
    ]
    body = sample.body
    events[0].update(applicant_phone=body["recipient"]["phone"], matter_name=body["matter_name"])
    return events
