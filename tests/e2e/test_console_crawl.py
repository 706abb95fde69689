"""Every console page a link leads to answers without a server error, for every role, with dispatches in
every status (mail, village point, counter pickup, inbound collection; booked to returned and cancelled).
The gateway and its EMS simulator run in this process on a loopback socket; the crawl is plain HTTP with
the session cookie, following <a href> breadth first."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from logistics.domain.status import Status
from tests.e2e import crawler
from tests.e2e.hall import PASSWORD, STAFF, STAGED_CASE, console_session, open_hall

pytestmark = pytest.mark.timeout(240)


async def test_no_console_page_reachable_by_links_is_a_server_error_for_any_role(tmp_path):
    async with open_hall(tmp_path) as hall:
        parcels = await hall.populate()
        assert {p.status for p in parcels} == {s.value for s in Status}
        sessions = {role: console_session() for role in STAFF}
        try:
            for role, name in STAFF.items():
                await crawler.sign_in(sessions[role], hall.base, name, PASSWORD)
            await hall.console_steps(sessions["dispatcher"])
            pages = [f"/console/dispatches/{p.id}" for p in parcels]
            crawls = {role: await crawler.crawl(sessions[role], hall.base, extra=pages) for role in STAFF}
            await both_directions_shown_together(sessions["dispatcher"], hall.base, parcels)
            fetched = set()  # last: printing a label moves its dispatch on; each file once (PDFs cost)
            for role in STAFF:
                await crawler.visit_downloads(sessions[role], crawls[role], skip=fetched)
                fetched |= crawls[role].downloads.keys()
        finally:
            for http in sessions.values():
                await http.close()
    errors = [f"{role}: {e}" for role, c in crawls.items() for e in c.server_errors()]
    assert not errors, "server errors:\n" + "\n".join(errors)
    not_pages = [
        f"{role}: {v.status} {v.content_type} {v.url}"
        for role, c in crawls.items()
        for v in c.visits.values()
        if v.status >= 400 and v.content_type != "text/html"
    ]
    assert not not_pages, "console errors that are not pages:\n" + "\n".join(not_pages)
    desk = crawls["dispatcher"].visits
    linked = {v.url for v in desk.values() if v.referrer != "(listed)"}
    unreached = [p.case_no for p in parcels if f"{hall.base}/console/dispatches/{p.id}" not in linked]
    assert not unreached, f"dispatch pages no link leads to: {unreached}"
    assert any(url.endswith("label.pdf?size=100x150") for url in desk), "label links were not followed"
    money = crawls["finance"].visits
    assert any("/console/finance/runs/" in url for url in money), "the reconciliation run was not reached"
    for role, c in crawls.items():
        assert all(v.status < 400 for v in c.visits.values() if v.url.endswith("/console/")), role
    visited = [
        (role, urlsplit(v.url).path)
        for role, c in crawls.items()
        for v in c.visits.values()
        if v.status == 200
    ]
    # statistics and supervision (issue 17) for every role; each export once (by the first role)
    for role in STAFF:
        assert {(role, "/console/statistics"), (role, "/console/supervision")} <= set(visited), role
    assert {"/console/statistics.xlsx", "/console/supervision.xlsx"} <= {path for _, path in visited}


async def both_directions_shown_together(desk, base: str, parcels) -> None:
    """A case's two dispatches link each other on their pages, beside the case's stages (issue 15)."""
    staged = [p for p in parcels if p.case_no == STAGED_CASE]
    assert sorted(p.kind for p in staged) == ["inbound", "mail"]
    for p in staged:
        async with desk.get(f"{base}/console/dispatches/{p.id}") as r:
            page = await r.text()
        other = next(o for o in staged if o.id != p.id)
        assert "本办件" in page and f"/console/dispatches/{other.id}" in page, p
        assert page.index("completed 备注") < page.index("registered 备注")  # the newest stage first
