"""A plain wheel install (``pip install .`` into a fresh venv) carries the shipped model and scores the
sample archive exactly as the source tree does."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from classifier.model_config import ModelConfig
from classifier.model_path import DEFAULT_MODEL_DIR
from cli.main import main

REPO = Path(__file__).resolve().parents[2]
ARCHIVE = "examples/archive"


def run(*argv: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False)


def tracked_copy(dest: Path) -> Path:
    """The committed files of the source tree (links kept as links), so no build output or stray file of
    the working tree can reach the wheel."""
    listed = run("git", "ls-files", "-z")
    assert listed.returncode == 0, listed.stderr
    for name in filter(None, listed.stdout.split("\0")):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target, follow_symlinks=False)
    return dest


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_scores_the_sample_archive_like_the_source_tree(tmp_path, capsys):
    if not (DEFAULT_MODEL_DIR / "scopeguard.json").is_file():
        pytest.skip("no shipped model in models/default")
    built = run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        tmp_path,
        tracked_copy(tmp_path / "src"),
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("scopeguard-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "--quiet", "-c", REPO / "constraints.txt", wheel)
    assert installed.returncode == 0, installed.stderr

    # from a folder outside the source tree, so nothing can come from it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(python, "-c", "import classifier, torch", cwd=elsewhere)
    assert "No module named 'torch'" in where.stderr, "the base install must not pull torch"
    wheel_out = tmp_path / "wheel.jsonl"
    scored = run(env_dir / "bin" / "scopeguard", "score", REPO / ARCHIVE, "--out", wheel_out, cwd=elsewhere)
    assert scored.returncode == 0, scored.stderr
    assert f"model: {ModelConfig.load(DEFAULT_MODEL_DIR).model_id}" in scored.stdout

    tree_out = tmp_path / "tree.jsonl"
    assert main(["score", str(REPO / ARCHIVE), "--out", str(tree_out)]) == 0
    capsys.readouterr()
    assert wheel_out.read_bytes() == tree_out.read_bytes()
