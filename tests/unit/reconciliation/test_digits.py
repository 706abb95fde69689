"""Waybills as int64 in one pass give what int() gives, or None where matching.int_keys wants None."""

from __future__ import annotations

import pytest

from reconciliation.digits import int_column
from reconciliation.matching import int_keys


@pytest.mark.parametrize(
    "waybills",
    [
        ["1100000000000", "1100000000001", "9999999999999"],
        ["7"],
        ["123456789012345678"],
    ],
)
def test_waybills_of_one_length_become_their_ints(waybills):
    column = int_column("\n".join(waybills).encode(), len(waybills))
    assert column is not None and column.tolist() == [int(w) for w in waybills]
    assert int_keys(waybills) == [int(w) for w in waybills]


@pytest.mark.parametrize(
    "waybills",
    [
        ["1100000000000", "110000000001"],  # two lengths: int() per waybill instead
        ["1234567890123456789"],  # beyond int64
        ["0100000000000", "1100000000001"],  # a leading zero
        ["1100000000000", "0100000000001"],
    ],
)
def test_anything_else_is_left_to_int(waybills):
    assert int_column("\n".join(waybills).encode(), len(waybills)) is None
    expected = None if any(w.startswith("0") for w in waybills) else [int(w) for w in waybills]
    assert int_keys(waybills) == expected
