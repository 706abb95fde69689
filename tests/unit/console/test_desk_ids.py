"""The ticked dispatch ids of a console batch form: blanks and ids with a NUL (which name no dispatch and
which PostgreSQL text cannot hold) are left out before any query."""

from __future__ import annotations

from types import SimpleNamespace

from multidict import MultiDict

from logistics.web.console.desk import ids_of


def test_blank_and_nul_ids_are_left_out():
    form = MultiDict([("ids", "d1"), ("ids", " "), ("ids", "d\x002"), ("ids", "d3"), ("csrf", "x")])
    assert ids_of(SimpleNamespace(form=form)) == ["d1", "d3"]
