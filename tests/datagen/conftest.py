"""Fixtures of the generator unit tests: the tiny fragment set of tests/datagen_samples.py, loaded."""

from __future__ import annotations

import pytest
from datagen_samples import KNOWLEDGE

from datagen.fragments import LanguageFragments, load_fragments_strict


@pytest.fixture(scope="module")
def fragments(tmp_path_factory, write_lang) -> dict[str, LanguageFragments]:
    """The tiny set with a second general category (knowledge), as {"en": fragments}."""
    root = tmp_path_factory.mktemp("fragments")
    lang = write_lang(root)
    (lang / "general" / "knowledge.yaml").write_text(KNOWLEDGE)
    return load_fragments_strict(root, ("en",))
