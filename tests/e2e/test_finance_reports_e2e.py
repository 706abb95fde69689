"""Finance over real sockets: reports and the dispute list for EMS (争议清单) streamed by the API and the
console, findings filtered and paged on the server over all of them, departments by name."""

from __future__ import annotations

import csv
import io
import json
import re

import aiohttp
import pytest
from python_calamine import CalamineWorkbook

from tests.e2e.console_kit import PASSWORD, add_user
from tests.e2e.test_finance_e2e import raw_get, shipped, upload  # noqa: F401
from tests.integration.finance.kit import line, statement

UNKNOWN = 250  # statement lines for waybills we never booked: more than two pages of findings


@pytest.fixture(scope="module")
def run(gw, staff, shipped):  # noqa: F811
    """A run with our three parcels (one overcharged) and UNKNOWN lines of waybills not ours."""
    from datetime import datetime, timedelta, timezone

    period = datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m")
    day = f"{period}-02"
    lines = [line(shipped[0], day), line(shipped[1], day, total="9.50")]
    lines += [line(f"1199{n:09d}", day) for n in range(UNKNOWN)]
    status, run = upload(gw, staff["finance"], statement(*lines), period, name="月结.csv")
    assert status in (200, 201), run
    return run


@pytest.fixture(scope="module")
def console(gw):
    add_user(gw, "wang-finance", "finance")
    return gw


async def signed_in(gw) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{gw.base}/console/login") as r:
        token = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
    form = {"name": "wang-finance", "password": PASSWORD, "csrf": token, "next": "/console/"}
    async with http.post(f"{gw.base}/console/login", data=form, allow_redirects=False) as r:
        assert r.status in (302, 303), await r.text()
    return http


def _sheet(content: bytes, name: str) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name(name).to_python()


def test_the_api_streams_the_dispute_list_in_the_statements_layout(gw, staff, shipped, run):  # noqa: F811
    status, content_type, content = raw_get(
        gw, f"/api/v1/reconciliations/{run['id']}/disputes.xlsx", staff["finance"]
    )
    assert status == 200 and content_type.startswith("application/vnd.openxmlformats")
    rows = _sheet(content, "争议清单")
    header = rows[0]
    assert header[:10] == ["邮件号", "收寄日期", "寄达省", "寄达市", "寄达县", "计费重量(克)", "资费(元)",
                           "保价费(元)", "其他费用(元)", "应收合计(元)"]  # fmt: skip
    lines = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:-1]}
    assert len(lines) == UNKNOWN + 1 and shipped[0] not in lines  # the ok line is no dispute
    over = lines[shipped[1]]
    assert (over["寄达省"], over["应收合计(元)"], over["核对结论"]) == ("江西省", 9.5, "多收")
    assert (over["按资费应收(元)"], over["申请退还(元)"]) == (8.0, 1.5) and over["依据"]
    assert over["部门名称"] == "安福县市场监督管理局"
    assert lines["1199000000007"]["核对结论"] == "非我方邮件"
    assert rows[-1][0] == "合计" and rows[-1][header.index("申请退还(元)")] == 1.5 + UNKNOWN * 8.0


def test_a_dispatcher_may_not_download_the_dispute_list(gw, staff, run):
    status, answer = gw.request(
        "GET", f"/api/v1/reconciliations/{run['id']}/disputes.xlsx", headers=staff["dispatcher"]
    )
    assert status == 403, answer


def test_the_api_streams_every_report_whole(gw, staff, shipped, run):  # noqa: F811
    status, _, content = raw_get(gw, f"/api/v1/reconciliations/{run['id']}/report.csv", staff["finance"])
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert status == 200 and len(rows) == UNKNOWN + 3  # the lines and our parcel EMS did not bill
    assert {r["部门名称"] for r in rows if r["部门"] == "SCJGJ"} == {"安福县市场监督管理局"}
    status, _, content = raw_get(gw, f"/api/v1/reconciliations/{run['id']}/report.json", staff["finance"])
    report = json.loads(content)
    assert len(report["findings"]) == UNKNOWN + 3
    named = {d["department_code"]: d["department_name"] for d in report["departments"]}
    assert named["SCJGJ"] == "安福县市场监督管理局"
    status, _, content = raw_get(gw, f"/api/v1/reconciliations/{run['id']}/report.xlsx", staff["finance"])
    assert len(_sheet(content, "差异明细")) == UNKNOWN + 4


async def test_the_console_pages_and_filters_all_findings_on_the_server(console, staff, shipped, run):  # noqa: F811
    gw = console
    base = f"{gw.base}/console/finance/runs/{run['id']}"
    async with await signed_in(gw) as http:
        async with http.get(base) as r:
            page1 = await r.text()
            assert r.status == 200
        assert f"共 {UNKNOWN + 3} 条，第 1/3 页" in page1
        assert "安福县市场监督管理局（SCJGJ）" in page1
        async with http.get(base, params={"page": "3"}) as r:
            page3 = await r.text()
        shown = set(re.findall(r"1199\d{9}", page3))
        assert len(shown) == UNKNOWN + 3 - 200 - 1  # the last page: what is left after two pages of 100
        assert shipped[2] in page3  # our parcel EMS did not bill comes last
        async with http.get(base, params={"code": "unknown_waybill", "page": "3"}) as r:
            unknown3 = await r.text()
        assert f"共 {UNKNOWN} 条，第 3/3 页" in unknown3 and "1199000000249" in unknown3
        async with http.get(base, params={"department": "SCJGJ"}) as r:
            ours = await r.text()
        assert "共 3 条" in ours and shipped[1] in ours and "1199000000001" not in ours
        async with http.get(base, params={"waybill": shipped[1]}) as r:
            one = await r.text()
        assert "共 1 条" in one and "多收" in one
        async with http.get(f"{base}/disputes.xlsx") as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
            rows = _sheet(await r.read(), "争议清单")
        assert len(rows) == UNKNOWN + 1 + 2
        async with http.get(f"{base}/report.csv") as r:
            assert r.status == 200
            assert len((await r.read()).decode("utf-8-sig").splitlines()) == UNKNOWN + 4
