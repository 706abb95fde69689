"""Labels and handover manifests (staff)."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
