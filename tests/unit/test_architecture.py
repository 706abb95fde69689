"""The layers stay as ARCHITECTURE.md draws them: a pure domain, use cases that never reach for the
edges. The contracts live in pyproject.toml ([tool.importlinter])."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold(capsys):
    """Runs whenever import-linter (a dev dependency) is installed, PATH or not; a broken contract fails."""
    pytest.importorskip("importlinter")
    from importlinter import configuration
    from importlinter.application import use_cases

    configuration.configure()  # what the lint-imports command does first; its logging setup is left out
    kept = use_cases.lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True)
    assert kept, capsys.readouterr().out[-3000:]


def test_the_domain_imports_only_the_standard_library():
    for path in (ROOT / "logistics" / "domain").glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(("import ", "from ")) and not line.startswith(("from .", "from __future__")):
                module = line.split()[1].split(".")[0]
                assert module in sys.stdlib_module_names, f"{path.name}: {line}"
