"""Headers every response of the gateway carries."""

from __future__ import annotations

from aiohttp import web


async def no_sniff(request: web.Request, response: web.StreamResponse) -> None:
    """A browser must take a response for what its Content-Type says (JSON is never run as a script or
    rendered as HTML). Set on every response: one header write, also on intake's hot path."""
    response.headers["X-Content-Type-Options"] = "nosniff"
