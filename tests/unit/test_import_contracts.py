"""The import contracts bite: each known layering break, written into a copy of the tree, fails `lint-imports`."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("subsidy_app", "recycling", "reverse_invoice")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# (file, line written into it, the contract that must catch it)
BREAKS = {
    "web request in a use case": (
        "subsidy_app/appliances/selling.py", "from flask import request",
        "Use cases and tables take no web request, schema or job framework"),
    "use case importing its package's API": (
        "subsidy_app/rules/quotas.py", "from subsidy_app.rules import api",
        "Rules layers"),
    "ORM in the pure evaluator": (
        "subsidy_app/rules/evaluator.py", "import sqlalchemy",
        "Pure modules"),
    "another package's tables": (
        "subsidy_app/applications/services.py", "from recycling.models import Intake",
        "Only recycling touches recycling.models"),
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copy the packages and the contracts (pyproject.toml) once; each test breaks its own copy of one file."""
    base = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, base / package, ignore=shutil.ignore_patterns("__pycache__", "templates"))
    shutil.copy(ROOT / "pyproject.toml", base / "pyproject.toml")
    return base


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    # The copy goes first on the path, so the linter builds its graph from the copy, not the installed tree.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def _with_line(source: str, line: str) -> str:
    head, sep, rest = source.partition("from __future__ import annotations\n")
    assert sep, "every module starts with the __future__ import"
    return f"{head}{sep}\n{line}\n{rest}"


def test_the_clean_tree_keeps_every_contract(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken" in result.stdout


@pytest.mark.parametrize("name", list(BREAKS))
def test_each_layering_break_fails_lint_imports(tree: Path, name: str) -> None:
    relative, line, contract = BREAKS[name]
    target = tree / relative
    original = target.read_text(encoding="utf-8")
    target.write_text(_with_line(original, line), encoding="utf-8")
    try:
        result = _lint(tree)
    finally:
        target.write_text(original, encoding="utf-8")
    assert result.returncode != 0, f"{name} passed lint-imports:\n{result.stdout}"
    assert contract in result.stdout.split("Broken contracts", 1)[1], result.stdout


def test_a_module_no_layer_names_fails_lint_imports(tree: Path) -> None:
    # Exhaustive layers: a new module must be placed in its package's layers before the linter accepts it.
    stray = tree / "subsidy_app/rules/stray.py"
    stray.write_text('"""A module nobody placed."""\n', encoding="utf-8")
    try:
        result = _lint(tree)
    finally:
        stray.unlink()
    assert result.returncode != 0 and "subsidy_app.rules.stray" in result.stdout, result.stdout


def test_only_rules_builds_a_rule_version_cache() -> None:
    # One cache per process (rules.services.version_cache()): a second one would serve versions a publish
    # already replaced, for up to CACHE_SECONDS, to whichever caller holds it.
    builders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            calls = [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)]
            builders += [str(path.relative_to(ROOT)) for node in calls
                         if (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "VersionCache"]
    assert builders == ["subsidy_app/rules/services.py"]
