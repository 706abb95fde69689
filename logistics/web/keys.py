"""Typed application keys: what web/app.py puts in the app (from the built system) for handlers."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ..config import Settings
from ..jobs.worker import WorkerPool
from ..ports import Clock
from ..service.deps import Deps
from ..storage.group_commit import GroupCommitter

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
CLOCK = web.AppKey("clock", Clock)
COMMITTER = web.AppKey("committer", GroupCommitter)
WORKERS = web.AppKey("workers", WorkerPool)
DEPS = web.AppKey("deps", Deps)
