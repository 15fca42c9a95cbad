"""The benchmarks use only the public names of scopeguard's packages, and import them as installed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[2] / "benchmarks").glob("*.py"))
OWN_PACKAGES = ("classifier", "cli", "datagen", "serve", "training")


def private_uses(source: str) -> list[str]:
    """``from <own package> import _name``, ``import <own>._module`` and ``sys.path`` edits in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in OWN_PACKAGES:
            parts = [*(node.module or "").split("."), *(alias.name for alias in node.names)]
            found += [f"line {node.lineno}: {node.module}.{p}" for p in parts if p.startswith("_")]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in OWN_PACKAGES and any(p.startswith("_") for p in parts):
                    found.append(f"line {node.lineno}: {alias.name}")
        elif isinstance(node, ast.Attribute) and node.attr in {"insert", "append"}:
            target = node.value
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "path"
                and getattr(target.value, "id", "") == "sys"
            ):
                found.append(f"line {node.lineno}: sys.path.{node.attr}")
    return found


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_benchmarks_use_only_public_names(path):
    assert private_uses(path.read_text(encoding="utf-8")) == []


def test_the_check_finds_private_names_and_path_edits():
    source = (
        "import sys\nfrom classifier.inference import _score_spans, Classifier\n"
        "from training import _private\nimport classifier._internal\nsys.path.insert(0, 'x')\n"
        "from numpy import _private_numpy\n"
    )
    assert private_uses(source) == [
        "line 2: classifier.inference._score_spans",
        "line 3: training._private",
        "line 4: classifier._internal",
        "line 5: sys.path.insert",
    ]
