"""The tree stays clean by the linter the project configures (pyproject.toml [tool.ruff])."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

PLATFORMS = {"discord", "slack", "web"}


def test_ruff_finds_nothing():
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it comes with the test extra)")
    command = [sys.executable, "-m", "ruff", "check", "--output-format", "concise", str(ROOT)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def python_files(*tops: str) -> list[Path]:
    return sorted(path for top in tops for path in (ROOT / top).rglob("*.py"))


def string_constants(path: Path) -> list[str]:
    """The string literals of a module's code, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_modules_stay_small_and_platform_files_smaller():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in python_files("bot", "shared", "workers")
        if (lines := len(path.read_text().splitlines())) > (350 if path.parent.name in PLATFORMS else 450)
    }
    assert not too_long, too_long


def test_shared_and_workers_name_no_platform():
    """What differs by platform is a capability the platform declares (Requester.hides_images,
    SourceImage.hosts), never a platform's name tested in the core."""
    named = {
        str(path.relative_to(ROOT)): sorted(set(string_constants(path)) & PLATFORMS)
        for path in python_files("shared", "workers")
    }
    assert not {path: names for path, names in named.items() if names}


def test_shared_names_no_module_of_the_frontends_or_workers():
    """Backends register by entry point (pyproject.toml); the only dotted paths shared/ holds are RQ's
    names of the job's functions, which RQ stores in each job for the worker to import."""
    rq_wire_names = {"workers.job.run_job", "workers.job.on_job_failure"}
    named = {
        str(path.relative_to(ROOT)): text
        for path in python_files("shared")
        for text in string_constants(path)
        if text.startswith(("bot.", "workers.")) and text not in rq_wire_names
    }
    assert not named
