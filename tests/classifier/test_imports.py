"""classifier must never import torch or transformers (serving and the CLI run without them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("torch", "transformers")

SCRIPT = f"""
import importlib, json, pkgutil, sys
import classifier
names = ["classifier"]
for info in pkgutil.walk_packages(classifier.__path__, "classifier."):
    importlib.import_module(info.name)
    names.append(info.name)
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({FORBIDDEN!r}))
print(json.dumps({{"modules": names, "forbidden": loaded}}))
"""


def test_classifier_never_imports_torch_or_transformers():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, cwd=REPO, check=True
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # the walk must have found the submodules, or the check proves nothing
    assert {
        "classifier.schema",
        "classifier.readers",
        "cli",
        "cli.commands.validate",
    } <= set(report["modules"])
    assert report["forbidden"] == []


def test_the_check_can_fail():
    script = "import sys, json; import json as torch; sys.modules['torch'] = torch; " + SCRIPT
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=REPO, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1])["forbidden"] == ["torch"]
