"""EMS domestic waybill numbers: 2-digit prefix, 8-digit serial, UPU S10 check digit, 2-digit suffix.

The layout is observed on real "1…" numbers and is *unconfirmed* as a rule; the check digit is UPU S10's."""

from __future__ import annotations

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def check_digit(serial: str) -> int:
    c = 11 - sum(int(d) * w for d, w in zip(serial, WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(c, c)


def make_waybill_no(prefix: str, serial: int, suffix: str) -> str:
    digits = f"{serial:08d}"
    return f"{prefix}{digits}{check_digit(digits)}{suffix}"


def is_valid_waybill_no(number: str) -> bool:
    if len(number) != 13 or not number.isdigit():
        return False
    return int(number[10]) == check_digit(number[2:10])
