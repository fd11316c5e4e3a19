"""The layers of docs/architecture.md hold, and the contract that checks them would see a breach.

The contracts live in pyproject.toml ([tool.importlinter]) and `make lint` runs them; these tests run them on the
code as it is, then on a copy of the code with one deliberate breach each, which must fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "omniguichet"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_MODULE_LINES = 700


def lint_imports(source_root: Path) -> subprocess.CompletedProcess[str]:
    """Run the project's contracts on the package found under source_root (first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(source_root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=source_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def copy_of_the_code(tmp_path: Path) -> Path:
    shutil.copytree(
        SOURCE, tmp_path / "omniguichet", ignore=shutil.ignore_patterns("__pycache__", "locale", "static")
    )
    return tmp_path


def add_line(module: Path, text: str) -> None:
    module.write_text(module.read_text() + "\n\n" + text + "\n")


def test_the_code_keeps_its_contracts():
    result = lint_imports(SOURCE.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# One deliberate breach per contract: (module changed, import added inside a function, what the report names).
BREACHES = {
    "an upward import, even inside a function": (
        "core/text.py",
        "from omniguichet.cases import services",
        "omniguichet.core.text -> omniguichet.cases.services",
    ),
    "a service importing its app's upper modules": (
        "referential/validators.py",
        "from omniguichet.referential import admin",
        "omniguichet.referential.admin",
    ),
    "an import between two independent apps of one layer": (
        "accounts/models.py",
        "from omniguichet.appointments import models",
        "omniguichet.accounts.models -> omniguichet.appointments.models",
    ),
}


@pytest.mark.parametrize("breach", BREACHES.values(), ids=BREACHES.keys())
def test_a_deliberate_breach_breaks_the_contracts(copy_of_the_code: Path, breach: tuple[str, str, str]):
    module, statement, reported = breach
    add_line(copy_of_the_code / "omniguichet" / module, f"def _probe():\n    {statement}  # noqa: F401")
    result = lint_imports(copy_of_the_code)
    assert result.returncode == 1
    assert reported in result.stdout


def test_no_app_views_import_another_apps_views():
    graph = grimp.build_graph("omniguichet")
    crossings = []
    for module in graph.modules:
        parts = module.split(".")
        if len(parts) < 3 or not parts[2].startswith("views"):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            other = imported.split(".")
            if len(other) >= 3 and other[2].startswith("views") and other[1] != parts[1]:
                crossings.append(f"{module} -> {imported}")
    assert crossings == []


def test_no_module_is_over_700_lines():
    long_modules = {
        str(path.relative_to(SOURCE)): lines
        for path in SOURCE.rglob("*.py")
        if "migrations" not in path.parts and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long_modules == {}
