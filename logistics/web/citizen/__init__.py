"""The citizen's tracking page: one HTML file with its CSS and JS inline, no external assets (one round
trip on a phone). The Content-Security-Policy allows exactly those inline blocks, by hash: no
'unsafe-inline', so an injected script or style would not run; no framing (clickjacking)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from aiohttp import web

PAGE = (Path(__file__).parent / "page.html").read_bytes()


def _hashes(tag: str, page: bytes) -> str:
    """CSP hash sources of the page's inline <tag> blocks, exactly as the browser hashes them."""
    blocks = re.findall(rb"<%s(?:\s[^>]*)?>(.*?)</%s>" % (tag.encode(), tag.encode()), page, re.DOTALL)
    return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b).digest()).decode()}'" for b in blocks)


CSP = (
    f"default-src 'none'; script-src {_hashes('script', PAGE)}; style-src {_hashes('style', PAGE)}; "
    "connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

routes = web.RouteTableDef()


@routes.get("/track")
async def track_page(request: web.Request) -> web.Response:
    return web.Response(
        body=PAGE,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            "Content-Security-Policy": CSP,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )
