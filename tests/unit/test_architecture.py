"""The layers stay as ARCHITECTURE.md draws them: a pure domain, use cases that never reach for the
edges. The contracts live in pyproject.toml ([tool.importlinter])."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter is a dev dependency")
def test_import_contracts_hold():
    result = subprocess.run(["lint-imports"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_the_domain_imports_only_the_standard_library():
    for path in (ROOT / "logistics" / "domain").glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(("import ", "from ")) and not line.startswith(("from .", "from __future__")):
                module = line.split()[1].split(".")[0]
                assert module in sys.stdlib_module_names, f"{path.name}: {line}"
