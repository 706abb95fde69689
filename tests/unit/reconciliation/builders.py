"""Statements with every finding planted, written in each supported encoding and format."""

from __future__ import annotations

import io
from datetime import date

from logistics.domain.hall import Hall
from reconciliation import ShippedParcel

ORIGIN = Hall(
    "安福县政务服务中心", "0796-7612345", "江西省", "吉安市", "安福县", "平都镇凤林东路1号", "343200"
)
HEADER = [
    "邮件号",
    "收寄日期",
    "寄达省",
    "寄达市",
    "寄达县",
    "计费重量(克)",
    "资费(元)",
    "保价费(元)",
    "其他费用(元)",
    "应收合计(元)",
]


def parcel(waybill_no: str, **changes) -> ShippedParcel:
    values = dict(
        waybill_no=waybill_no,
        department_code="SCJGJ",
        weight_g=300,
        declared_value_fen=0,
        province="江西省",
        city="吉安市",
        county="安福县",
        accepted_on=date(2026, 10, 5),
        cancelled=False,
    )
    return ShippedParcel(**{**values, **changes})


# Default tariff: county 8.00 first 500 g + 2.00 / 500 g; city 10.00; province 12.00; national 20.00 + 6.00;
# insurance 5 ‰, at least 1.00.
SHIPMENTS = [
    parcel("1100000000001"),  # ok
    parcel("1100000000002", department_code="ZRZYJ"),  # overcharged
    parcel("1100000000003", city="南昌市", county="东湖区"),  # undercharged (province zone)
    parcel("1100000000004", weight_g=1200),  # weight_mismatch
    parcel("1100000000005"),  # duplicate
    parcel("1100000000006", accepted_on=None, cancelled=True),  # cancelled_but_billed
    parcel("1100000000007", accepted_on=date(2026, 9, 30)),  # out_of_period
    parcel(
        "1100000000008",
        department_code="ZRZYJ",
        province="广东省",
        city="广州市",
        county="天河区",
        declared_value_fen=50000,
    ),  # not_billed: 20.00 + 2.50 insurance
    parcel(
        "1100000000010",
        province="广东省",
        city="广州市",
        county="天河区",
        weight_g=1400,
        declared_value_fen=10000,
    ),  # ok national: 20.00 + 2×6.00 + 1.00 (minimum insurance)
    parcel("1100000000011", accepted_on=date(2026, 11, 1)),  # a later month, no line: nothing
]

# (waybill cell, date, province, city, county, weight, postage, insurance, other, total)
LINES = [
    ("1100000000001", "2026-10-05", "江西省", "吉安市", "安福县", "500", "8.00", "0.00", "0.00", "8.00"),
    ("1100000000002", "2026-10-05", "江西省", "吉安市", "安福县", "500", "9.50", "0.00", "0.00", "9.50"),
    ("1100000000003", "2026-10-06", "江西省", "南昌市", "东湖区", "500", "11.00", "0.00", "0.00", "11.00"),
    ("1100000000004", "2026-10-06", "江西省", "吉安市", "安福县", "500", "8.00", "0.00", "0.00", "8.00"),
    ("1100000000005", "2026-10-07", "江西省", "吉安市", "安福县", "500", "8.00", "0.00", "0.00", "8.00"),
    ("1100000000005", "2026-10-07", "江西省", "吉安市", "安福县", "500", "8.00", "0.00", "0.00", "8.00"),
    ("1100000000006", "2026-10-08", "江西省", "吉安市", "安福县", "500", "8.00", "0.00", "0.00", "8.00"),
    ("1100000000007", "2026-09-30", "江西省", "吉安市", "安福县", "500", "8.00", "0.00", "0.00", "8.00"),
    ("1100000000009", "2026-10-09", "江西省", "吉安市", "安福县", "500", "8.00", "0.00", "0.00", "8.00"),
    ("1100000000010", "2026-10-10", "广东省", "广州市", "天河区", "1500", "32.00", "1.00", "0.00", "33.00"),
]
TOTAL = "109.50"

EXPECTED_CODES = {
    "1100000000001": ["ok"],
    "1100000000002": ["overcharged"],
    "1100000000003": ["undercharged"],
    "1100000000004": ["weight_mismatch"],
    "1100000000005": ["ok", "duplicate"],
    "1100000000006": ["cancelled_but_billed"],
    "1100000000007": ["out_of_period"],
    "1100000000008": ["not_billed"],
    "1100000000009": ["unknown_waybill"],
    "1100000000010": ["ok"],
}


def csv_text(lines=LINES, *, title=True, totals=True, sep=",") -> str:
    rows = []
    if title:
        rows += ["安福县政务服务中心 2026年10月 EMS 对账单", "客户号：36082900001"]
    rows.append(sep.join(HEADER))
    rows += [sep.join(line) for line in lines]
    if totals:
        rows.append(sep.join(["合计", *[""] * 8, TOTAL]))
    return "\r\n".join(rows) + "\r\n"


def xlsx_bytes(lines=LINES, *, numeric_waybills=True, title=True, totals=True) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    if title:
        sheet.append(["安福县政务服务中心 2026年10月 EMS 对账单"])
    sheet.append(HEADER)
    for line in lines:
        waybill = int(line[0]) if numeric_waybills and line[0].isdigit() else line[0]
        day = date.fromisoformat(line[1])
        sheet.append([waybill, day, *line[2:5], int(line[5]), *(_number(v) for v in line[6:])])
    if totals:
        sheet.append(["合计", None, None, None, None, None, None, None, None, float(TOTAL)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text  # a bad cell, planted on purpose
