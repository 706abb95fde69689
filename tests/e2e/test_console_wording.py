"""What the console's dispatch pages say, over a real server: the list has a direction column and an
inbound collection reads as one (上门收件, 收取材料), never as mail to the door."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e import crawler
from tests.e2e.gateway import sign
from tests.e2e.hall import PASSWORD, console_session, open_hall
from tests.fixtures.dispatches import intake_body

pytestmark = pytest.mark.timeout(120)


def rows_of(html: str) -> dict[str, list[str]]:
    """Table rows by their case number: each cell's text."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        key = next((c for c in cells if c.startswith("WORD-")), "heads" if "<th" in row else "")
        rows[key] = cells
    return rows


async def test_the_list_shows_the_direction_and_an_inbound_collection_as_one(tmp_path):
    async with open_hall(tmp_path) as hall:
        ids = {}
        for case_no, over in (("WORD-OUT", {}), ("WORD-IN", {"direction": "inbound"})):
            raw = json.dumps(intake_body(case_no, **over), ensure_ascii=False).encode()
            ids[case_no] = (
                await hall.call("POST", "/api/v1/dispatches", data=raw, headers=sign(raw), expect=(201,))
            )["id"]
        async with console_session() as desk:
            await crawler.sign_in(desk, hall.base, "desk", PASSWORD)
            async with desk.get(f"{hall.base}/console/dispatches") as r:
                rows = rows_of(await r.text())
            async with desk.get(f"{hall.base}/console/dispatches/{ids['WORD-IN']}") as r:
                inbound_page = await r.text()
    heads = rows["heads"]
    direction, method = heads.index("方向"), heads.index("方式")
    assert (rows["WORD-OUT"][direction], rows["WORD-OUT"][method]) == ("寄出证照", "邮寄到家")
    assert (rows["WORD-IN"][direction], rows["WORD-IN"][method]) == ("收取材料", "上门收件")
    assert "上门收件" in inbound_page and "邮寄到家" not in inbound_page
