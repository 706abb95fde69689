"""Deterministic synthetic statements and shipments for the reconciliation benchmark."""

from __future__ import annotations

import random
from datetime import date, timedelta

from logistics.domain.hall import Hall
from reconciliation.matching import ShippedParcel

ORIGIN = Hall(
    "安福县政务服务中心", "0796-7612345", "江西省", "吉安市", "安福县", "平都镇凤林东路1号", "343200"
)
PLACES = [
    ("江西省", "吉安市", "安福县"),
    ("江西省", "吉安市", "吉州区"),
    ("江西省", "吉安市", "永新县"),
    ("江西省", "南昌市", "东湖区"),
    ("江西省", "赣州市", "章贡区"),
    ("广东省", "广州市", "天河区"),
    ("浙江省", "杭州市", "西湖区"),
    ("北京市", "北京市", "海淀区"),
]
WEIGHTS = [120, 200, 350, 480, 650, 900, 1300]
DEPARTMENTS = ["SCJGJ", "ZRZYJ", "GAJ", "RSJ", "MZJ", "WSJKW", "JTYSJ", "ZJJ"]
HEADER = "邮件号,收寄日期,寄达省,寄达市,寄达县,计费重量(克),资费(元),保价费(元),其他费用(元),应收合计(元)"
FIRST_WAYBILL = 1100000000000


def shipments(n: int, seed: int = 6) -> list[ShippedParcel]:
    rng = random.Random(seed)
    parcels = []
    for i in range(n):
        province, city, county = PLACES[rng.randrange(len(PLACES))]
        parcels.append(
            ShippedParcel(
                waybill_no=str(FIRST_WAYBILL + i),
                department_code=DEPARTMENTS[rng.randrange(len(DEPARTMENTS))],
                weight_g=WEIGHTS[rng.randrange(len(WEIGHTS))],
                declared_value_fen=20000 if rng.random() < 0.05 else 0,
                province=province,
                city=city,
                county=county,
                accepted_on=date(2026, 10, 1) + timedelta(days=rng.randrange(31)),
                cancelled=False,
            )
        )
    return parcels


def statement_rows(parcels: list[ShippedParcel], tariff, seed: int = 7) -> list[list[str]]:
    """One line per parcel as EMS would bill it, with about 3 % of lines planted with faults."""
    rng = random.Random(seed)
    version = tariff.versions[-1]
    rows = []
    for p in parcels:
        zone = version.zone_for(ORIGIN, p.province, p.city, p.county)
        insurance = version.insurance_fen(p.declared_value_fen)
        postage = version.fee_fen(zone, p.weight_g, 0)
        weight, waybill = version.chargeable_weight_g(zone, p.weight_g), p.waybill_no
        roll = rng.random()
        if roll < 0.01:
            continue  # not billed
        if roll < 0.015:
            waybill = str(FIRST_WAYBILL + 5_000_000 + len(rows))  # not ours
        elif roll < 0.02:
            postage += 100  # overcharged
        elif roll < 0.025:
            weight += 1000  # weight mismatch
        line = [
            waybill,
            f"{p.accepted_on:%Y-%m-%d}",
            p.province,
            p.city,
            p.county,
            str(weight),
            _yuan(postage),
            _yuan(insurance),
            "0.00",
            _yuan(postage + insurance),
        ]
        rows.append(line)
        if roll > 0.995:
            rows.append(line)  # duplicate
    return rows


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def csv_bytes(rows: list[list[str]], encoding: str = "gbk") -> bytes:
    total = sum(int(r[-1].replace(".", "")) for r in rows)
    body = "\r\n".join(",".join(r) for r in rows)
    text = f"2026年10月 EMS 政务邮件对账单\r\n{HEADER}\r\n{body}\r\n合计,,,,,,,,,{_yuan(total)}\r\n"
    return text.encode(encoding)


def xlsx_file(rows: list[list[str]], path: str) -> None:
    """As Excel saves it: a shared-string table, numeric waybills, a title row and a totals row."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("对账单")
    sheet.write_row(0, 0, ["2026年10月 EMS 政务邮件对账单"])
    sheet.write_row(1, 0, HEADER.split(","))
    for i, r in enumerate(rows, 2):
        cells = [int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), float(r[6]), float(r[7]), 0, float(r[9])]
        sheet.write_row(i, 0, cells)
    sheet.write_row(len(rows) + 2, 0, ["合计"])
    book.close()
