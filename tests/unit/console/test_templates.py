"""The console's templates: every one is listed and compiles, every one a handler names exists, values
are escaped whatever they hold, and nothing marks data as safe markup."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp_jinja2
import pytest
from aiohttp import web

from logistics.web import console
from logistics.web.console import templating

CONSOLE = Path(console.__file__).parent
TEMPLATES = CONSOLE / "templates"


@pytest.fixture(scope="module")
def env():
    app = web.Application()
    console.install(app)
    return app[aiohttp_jinja2.APP_KEY]


def test_every_template_is_listed_and_compiles(env):
    listed = env.list_templates()
    on_disk = sorted(p.name for p in TEMPLATES.glob("*.html"))
    assert listed == on_disk and "base.html" in listed
    for name in listed:
        env.get_template(name)  # a syntax error, unknown filter or bad import raises here


def test_every_template_a_handler_renders_exists(env):
    named = set()
    for module in CONSOLE.glob("*.py"):
        named |= set(re.findall(r'"([a-z_]+\.html)"', module.read_text()))
    assert len(named) >= 15, named
    assert named <= set(env.list_templates()), named - set(env.list_templates())


def test_values_are_escaped_in_text_and_attributes(env):
    hostile = '"><script>alert(1)</script>'
    page = env.from_string(
        '{% import "macros.html" as ui %}<p title="{{ x }}">{{ x }}</p>{{ ui.table(["h"], [[x]]) }}'
    )
    html = page.render(x=hostile)
    assert "<script>" not in html and html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3
    assert '<p title="&#34;&gt;&lt;script&gt;' in html  # the quote cannot end the attribute
    assert env.get_template("macros.html").module.badge(hostile) == (
        '<span class="badge b-off">&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</span>'
    )


def test_none_prints_as_nothing(env):
    assert env.from_string("[{{ x }}]").render(x=None) == "[]"


def test_the_pull_section_escapes_what_the_approval_system_sent(env):
    pull = {
        "facts": [("当前游标", "<b>c</b>")],
        "rejects": [["2026-11-05 10:00:00", "<i>AF1</i>", "内容不合格", "", "", 1]],
    }
    html = env.get_template("pull_status.html").render(pull=pull, csrf="")
    assert "&lt;b&gt;c&lt;/b&gt;" in html and "&lt;i&gt;AF1&lt;/i&gt;" in html
    assert "<b>" not in html and "<i>" not in html


def test_nothing_is_marked_safe():
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert "|safe" not in text.replace(" ", "") and "autoescape false" not in text, template.name
    for module in CONSOLE.glob("*.py"):
        assert "Markup" not in module.read_text(), module.name


def test_the_nav_shows_a_role_its_pages_and_admin_everything():
    assert [key for key, _, _ in templating.nav_for("finance")] == [
        "home",
        "finance",
        "statistics",
        "supervision",
    ]
    assert len(templating.nav_for("admin")) == len(templating.NAV)
