"""Migrations are additive (README "Deploying", docs/deploy.md section 5): during a rolling upgrade the
instances not yet restarted run the old code on the new schema, so a migration's upgrade may create
tables and indexes, add columns that are nullable or have a server default, and write data; nothing that
would break the old code (dropping, renaming or altering a table, column or constraint). A release that
cannot keep to this is listed below with why, and is upgraded with every instance stopped."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

VERSIONS = Path(__file__).resolve().parents[2] / "logistics" / "storage" / "migrations" / "versions"

ADDITIVE = {"create_table", "create_index", "add_column", "execute", "bulk_insert", "get_bind", "get_context"}
STOP_THE_WORLD = {
    "0008": "halls: the finance tables are keyed by hall (a new primary key and unique constraint)",
    "0014": "cases: the dispatches' unique key gains the direction (old instances' ON CONFLICT names it)",
}


def _revision(tree: ast.Module) -> str:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "revision" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("no revision id")


def _not_additive(tree: ast.Module) -> list[str]:
    """What the module's upgrade path does (everything outside `downgrade`) that is not additive: calls
    on `op`, and on the batch of `with op.batch_alter_table(...) as batch` (itself fine: SQLite needs it)."""
    found = []
    for top in tree.body:
        if isinstance(top, ast.FunctionDef) and top.name == "downgrade":
            continue
        batches = {
            item.optional_vars.id
            for node in ast.walk(top)
            if isinstance(node, ast.With)
            for item in node.items
            if isinstance(item.optional_vars, ast.Name) and _is_op_call(item.context_expr, {"op"})
        }
        for node in ast.walk(top):
            if not _is_op_call(node, {"op", *batches}):
                continue
            name, line = node.func.attr, node.lineno
            if name == "batch_alter_table":
                continue
            if name not in ADDITIVE:
                found.append(f"op.{name} (line {line})")
            elif name == "add_column" and not _column_is_optional(node):
                found.append(f"op.add_column of a NOT NULL column without a server default (line {line})")
    return found


def _is_op_call(node: ast.AST, receivers: set[str]) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and getattr(node.func.value, "id", None) in receivers
    )


def _column_is_optional(add_column: ast.Call) -> bool:
    args = add_column.args  # op.add_column(table, column) or batch.add_column(column)
    column = args[-1] if args else None
    if not (isinstance(column, ast.Call) and getattr(column.func, "attr", None) == "Column"):
        return False  # cannot tell: spell the sa.Column out in the migration
    kwargs = {k.arg: k.value for k in column.keywords}
    nullable = kwargs.get("nullable")
    nullable_true = nullable is None or (isinstance(nullable, ast.Constant) and nullable.value is True)
    return nullable_true or "server_default" in kwargs


def _migrations() -> list[Path]:
    return sorted(p for p in VERSIONS.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("path", _migrations(), ids=lambda p: p.stem)
def test_migration_is_additive(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    revision = _revision(tree)
    found = _not_additive(tree)
    if revision in STOP_THE_WORLD:
        assert found, f"{revision} is additive after all: take it off STOP_THE_WORLD"
        return
    assert not found, f"migration {revision} is not additive: {'; '.join(found)}"


def test_the_check_sees_what_breaks_old_instances():
    broken = ast.parse(
        "def upgrade():\n"
        "    op.drop_column('dispatches', 'weight_g')\n"
        "    op.add_column('dispatches', sa.Column('hall', sa.String(32), nullable=False))\n"
        "    with op.batch_alter_table('jobs') as batch:\n"
        "        batch.alter_column('kind', new_column_name='job_kind')\n"
        "def downgrade():\n"
        "    op.drop_table('halls')\n"
    )
    assert [f.split(" (")[0] for f in _not_additive(broken)] == [
        "op.drop_column",
        "op.add_column of a NOT NULL column without a server default",
        "op.alter_column",
    ]
    fine = ast.parse(
        "def upgrade():\n"
        "    op.create_table('halls', sa.Column('code', sa.String(32), primary_key=True))\n"
        "    op.add_column('dispatches', sa.Column('hall', sa.String(32), server_default='d'))\n"
        "    with op.batch_alter_table('users') as batch:\n"
        "        batch.add_column(sa.Column('hall', sa.String(32), nullable=True))\n"
        "        batch.create_index('ix_hall', ['hall'])\n"
    )
    assert _not_additive(fine) == []
