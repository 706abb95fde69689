"""Waybill numbers of ASCII digits as int64, digit position by digit position over all of them at once."""

from __future__ import annotations

import numpy as np

INT64_DIGITS = 18  # waybills of at most 18 digits fit an int64


def int_column(digits: bytes, n: int) -> np.ndarray | None:
    """`n` waybills of ASCII digits joined by "\\n" as int64, if they have one length (up to 18 digits)
    and no leading zero (as matching.int_keys wants them), else None. The digits are not checked."""
    width = digits.find(b"\n") if n > 1 else len(digits)
    if not 0 < width <= INT64_DIGITS or len(digits) + 1 != n * (width + 1):
        return None
    if digits.startswith(b"0") or b"\n0" in digits:
        return None
    grid = np.frombuffer(digits + b"\n", dtype=np.uint8).reshape(n, width + 1)
    if not (grid[:, width] == ord("\n")).all():
        return None
    columns = grid[:, :width].T - np.uint8(ord("0"))  # one row per digit position
    values = columns[0].astype(np.int64)
    for column in columns[1:]:
        values *= 10
        values += column
    return values
