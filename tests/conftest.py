"""Shared pytest options and fixtures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_JSONL = FIXTURES / "sample.jsonl"


def fixture_texts() -> list[str]:
    """Every turn text of tests/fixtures/sample.jsonl (empty when the file is absent)."""
    if not SAMPLE_JSONL.is_file():
        return []
    texts = []
    for line in SAMPLE_JSONL.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            texts.extend(t["text"] for t in record.get("turns", []) if isinstance(t.get("text"), str))
    return texts


TINY_MODEL = FIXTURES / "tiny_model"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete model folder (random 2-layer BERT, WordPiece vocabulary from the fixture texts, dynamic
    int8), loaded without torch: a copy of the committed tests/fixtures/tiny_model, so no test can alter
    the original. tests/training/test_tiny_fixture.py rebuilds it through the real export path and checks
    that it still matches; ``python -m training.tiny`` rewrites it.
    """
    copy = tmp_path_factory.mktemp("tiny_model") / "model"
    shutil.copytree(TINY_MODEL, copy)
    return copy


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def write_lang():
    """write_lang(root, common=..., domain=..., category=...) writes <root>/en/ with the tiny fragment set."""
    from datagen_samples import write_lang_files

    return write_lang_files


@pytest.fixture(autouse=True)
def _id_key_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Id pseudonyms use a key of the test session, never the user's ~/.config/scopeguard/id-key."""
    path = tmp_path_factory.getbasetemp() / "scopeguard-id-key"
    monkeypatch.setenv("SCOPEGUARD_ID_KEY_FILE", str(path))
    return path
