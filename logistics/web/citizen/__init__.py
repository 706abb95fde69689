"""The citizen's tracking page: one HTML file with inline CSS and JS, no external assets."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

PAGE = (Path(__file__).parent / "page.html").read_bytes()

CSP = "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

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
            "Referrer-Policy": "no-referrer",
        },
    )
