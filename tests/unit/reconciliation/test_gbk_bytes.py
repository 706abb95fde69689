"""GBK statements read from the undecoded bytes give what the text reader gives: lines, or the same error."""

from __future__ import annotations

import pytest

from reconciliation import StatementError
from reconciliation import statement as reader

from .builders import LINES, csv_text


def _both(data: bytes):
    def read():
        try:
            return reader.read_statement(data)
        except StatementError as e:
            return ("error", str(e))

    fast = read()
    original = reader._gbk_without_quotes
    reader._gbk_without_quotes = lambda _data: False
    try:
        return fast, read()
    finally:
        reader._gbk_without_quotes = original


BAD_WEIGHT = [LINES[0], (LINES[1][0], LINES[1][1], *LINES[1][2:5], "重", *LINES[1][6:])]
TEXTS = {
    "plain": csv_text(),
    "no totals": csv_text(totals=False),
    "notes below the totals": csv_text() + "制表人：张三\r\n",
    "a line below the totals": csv_text() + ",".join(LINES[0]) + "\r\n",
    "spaced waybill": csv_text([(" " + LINES[0][0], *LINES[0][1:]), *LINES[1:]]),
    "letters in a waybill": csv_text([("EA123456789CN", *LINES[0][1:]), *LINES[1:]]),
    "bad weight": csv_text(BAD_WEIGHT),
    "tabs": csv_text(sep="\t"),
    "blank line inside": csv_text().replace(LINES[3][0], "\r\n" + LINES[3][0], 1),
}


@pytest.mark.parametrize("case", TEXTS)
def test_gbk_bytes_reader_agrees_with_the_text_reader(case):
    fast, slow = _both(TEXTS[case].encode("gbk"))
    assert fast == slow


def test_bytes_that_are_not_gbk_give_the_text_readers_error():
    data = csv_text().encode("gbk").replace(b"8.00", b"8.\xff0", 1)
    fast, slow = _both(data)
    assert fast == slow and fast[0] == "error"
