"""A small HTTP crawler for the console: signs in like a browser (login form, CSRF cookie, session cookie)
and follows every same-origin link breadth first, recording each page's status."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import aiohttp

DOWNLOADS = (".pdf", ".csv", ".xlsx", ".json")
"""Files, not pages: visited after every page (a label PDF is recorded as printed, which moves the
dispatch on), so that the pages are crawled with the dispatches in the states they were set up in."""
SKIP = ("/console/logout", "/console/static/", "/sandbox/")


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.inputs: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "input" and a.get("name"):
            self.inputs.setdefault(a["name"], a.get("value") or "")


def parse(html: str) -> _Parser:
    parser = _Parser()
    parser.feed(html)
    return parser


@dataclass
class Visit:
    url: str
    status: int
    content_type: str
    referrer: str


@dataclass
class Crawl:
    visits: dict[str, Visit] = field(default_factory=dict)
    downloads: dict[str, str] = field(default_factory=dict)  # url -> referrer

    def server_errors(self) -> list[str]:
        return [
            f"{v.status} {v.url} (linked from {v.referrer})" for v in self.visits.values() if v.status >= 500
        ]


async def sign_in(http: aiohttp.ClientSession, base: str, name: str, password: str) -> None:
    async with http.get(f"{base}/console/login") as r:
        token = parse(await r.text()).inputs["csrf"]
    form = {"name": name, "password": password, "csrf": token, "next": ""}
    async with http.post(f"{base}/console/login", data=form, allow_redirects=False) as r:
        assert r.status == 303 and r.headers["Location"] == "/console/", (r.status, await r.text())


async def csrf_of(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as r:
        return parse(await r.text()).inputs["csrf"]


def _same_origin(base: str, url: str) -> bool:
    b, u = urlsplit(base), urlsplit(url)
    return (u.scheme, u.netloc) == (b.scheme, b.netloc)


async def crawl(
    http: aiohttp.ClientSession, base: str, start: str = "/console/", *, extra=(), limit: int = 600
) -> Crawl:
    """Visit every page reachable by links from `start`, then the `extra` paths no link led to; the
    downloads linked are collected, for `visit_downloads`."""
    result = Crawl()
    queue: deque[tuple[str, str]] = deque([(urljoin(base, start), "(start)")])
    listed = deque(urljoin(base, p) for p in extra)  # visited when no link led there
    seen = {url for url, _ in queue}
    while queue or listed:
        if not queue:
            url = listed.popleft()
            if url not in seen:
                seen.add(url)
                queue.append((url, "(listed)"))
            continue
        assert len(result.visits) < limit, f"more than {limit} pages: the crawl is not bounded"
        url, referrer = queue.popleft()
        async with http.get(url, allow_redirects=False) as r:
            body = await r.read()
            result.visits[url] = Visit(url, r.status, r.content_type, referrer)
            location = r.headers.get("Location") if 300 <= r.status < 400 else None
        found = [location] if location else []
        if result.visits[url].content_type == "text/html":
            found += parse(body.decode("utf-8", "replace")).links
        for href in found:
            target = urldefrag(urljoin(url, href)).url
            path = urlsplit(target).path
            if not _same_origin(base, target) or path.startswith(SKIP) or target in seen:
                continue
            seen.add(target)
            if path.endswith(DOWNLOADS):
                result.downloads.setdefault(target, url)
            else:
                queue.append((target, url))
    return result


async def visit_downloads(http: aiohttp.ClientSession, result: Crawl, *, skip=frozenset()) -> None:
    for url, referrer in result.downloads.items():
        if url in skip:
            continue
        async with http.get(url, allow_redirects=False) as r:
            await r.read()
            result.visits[url] = Visit(url, r.status, r.content_type, referrer)
