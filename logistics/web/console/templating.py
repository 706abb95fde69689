"""The console's Jinja2 environment (aiohttp-jinja2): templates from this package, every value escaped
(autoescape on, whatever the file's name), the wording helpers as filters, and the side navigation.

No filter or global returns markup: whatever a page shows goes through the template's escaping."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web

from ...service.console_text import STATUS_SHORT, cn_time, yuan
from ...service.users import ROLE_TEXT

BADGE_TONE = {
    "received": "wait",
    "booking": "wait",
    "booking_failed": "bad",
    "booked": "todo",
    "label_printed": "todo",
    "handed_over": "go",
    "in_transit": "go",
    "out_for_delivery": "go",
    "delivered": "ok",
    "picked_up": "ok",
    "delivery_failed": "bad",
    "returning": "bad",
    "returned": "bad",
    "cancelled": "off",
    "awaiting_pickup": "todo",
}
NAV = [
    ("home", "/console/", "工作台", ("dispatcher", "finance", "admin")),
    ("province", "/console/province", "全省概览", ()),
    ("dispatches", "/console/dispatches", "寄递单", ("dispatcher",)),
    ("handover", "/console/handover", "交接揽收", ("dispatcher",)),
    ("exceptions", "/console/exceptions", "异常处理", ("dispatcher",)),
    ("pickup", "/console/pickup", "窗口自取", ("dispatcher",)),
    ("villages", "/console/villages", "村级代办点", ("dispatcher",)),
    ("finance", "/console/finance", "对账结算", ("finance",)),
    ("users", "/console/admin/users", "用户与角色", ()),
    ("system", "/console/admin/system", "系统状态", ()),
]


def url(path: str, **query) -> str:
    """`path` with the non-empty `query` values encoded (escaped again where a template prints it)."""
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{path}?{urlencode(query)}" if query else path


def nav_for(role: str) -> list[tuple[str, str, str]]:
    """The side navigation a role sees: (key, href, label); admin sees everything."""
    return [(key, href, label) for key, href, label, roles in NAV if role == "admin" or role in roles]


def _shown(value):
    """What `{{ value }}` prints: nothing for None (never the word "None")."""
    return "" if value is None else value


FILTERS = {
    "cn_time": cn_time,
    "yuan": yuan,
    "status_text": lambda status: STATUS_SHORT.get(status, status),
    "badge_tone": lambda status: BADGE_TONE.get(status, "off"),
    "role_text": lambda role: ROLE_TEXT.get(role, role),
}


def setup(app: web.Application) -> jinja2.Environment:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("logistics.web.console", "templates"),
        autoescape=jinja2.select_autoescape(("html", "svg"), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        finalize=_shown,
        trim_blocks=True,
        lstrip_blocks=True,
        filters=FILTERS,
        default_helpers=False,
    )
    env.globals["url"] = url
    return env
