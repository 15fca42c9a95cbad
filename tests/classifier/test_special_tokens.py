"""Special-token lookup for the two vocabulary families the base models use."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel

from classifier.model_config import special_tokens_of


def _tokenizer(names: list[str]) -> Tokenizer:
    return Tokenizer(WordLevel({name: i for i, name in enumerate(names)}, unk_token=names[0]))


def test_wordpiece_names():
    special = special_tokens_of(_tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    assert (special.cls_id, special.sep_id, special.pad_id) == (2, 3, 0)


def test_sentencepiece_names_of_xlm_r_and_e5():
    special = special_tokens_of(_tokenizer(["<s>", "<pad>", "</s>", "<unk>"]))
    assert (special.cls_id, special.sep_id, special.pad_id) == (0, 2, 1)


def test_unknown_vocabulary_is_refused():
    with pytest.raises(ValueError, match="special token sets"):
        special_tokens_of(_tokenizer(["<unk>", "hello"]))
