"""The back-office console (Simplified Chinese, server-rendered, no external assets): staff sign in
with a password and work in the browser. `install(app)` is called by the composition root."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import admin, counter, desk, finance, home, statistics, templating, villages
from .errors import console_errors

STATIC = Path(__file__).parent / "static"


def install(app: web.Application) -> None:
    templating.setup(app)
    app.middlewares.append(console_errors)  # inside the JSON error middleware: console errors are pages
    for module in (home, desk, counter, villages, finance, admin, statistics):
        app.add_routes(module.routes)
    app.router.add_static("/console/static", STATIC, append_version=False)
