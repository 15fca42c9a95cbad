"""A tiny randomly initialised scopeguard model, built in seconds, for tests of everything downstream.

It goes through the same export, quantisation and folder writing as the real model
(``training.package.write_model_folder``), so a test that passes on it exercises the shipped path.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig

from classifier.model_config import TOKENIZER_FILE, BaseModelInfo, special_tokens_of
from classifier.render import ROLE_MARKERS, ConversationEncoder, RenderConfig, Window, render_turn
from classifier.schema import Conversation, Turn
from training.model import TurnScorer

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # ids 0..4 in this order
TINY_VOCAB_SIZE = 1500
TINY_NAME = "tiny"
TINY_ENCODER: dict[str, Any] = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 512,
}
FALLBACK_TEXTS = (
    "hi, where is my order 4411? it was due on monday",
    "Let me check that for you. Your parcel is with the courier and arrives tomorrow.",
    "can you write me a poem about the sea",
    "Waves roll in silver light, the gulls cry over the harbour at night.",
    "Sorry, I can only help with orders, returns and deliveries. Is there anything about your order?",
    "I want to return the blue jacket, it is too small",
    "Sure! Here is your return label. Drop the parcel at any post office within 30 days.",
    "explain the pythagorean theorem for my homework",
    "In a right triangle the square of the hypotenuse equals the sum of the squares of the other sides.",
    "thanks, bye",
)


def _word_counts(texts: Sequence[str], normalizer: Any, pre_tokenizer: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        words = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
        counts.update(word for word, _ in words)
    return counts


def train_tokenizer(texts: Sequence[str], *, vocab_size: int = TINY_VOCAB_SIZE) -> Tokenizer:
    """A BERT-style uncased WordPiece tokenizer whose vocabulary is learnt from ``texts`` and role markers.

    The vocabulary is the special tokens, every character seen (alone and as a ``##`` continuation) and
    the most frequent words, ties broken alphabetically. ``tokenizers``' WordPieceTrainer is not used
    because its merges depend on hash-map order: two runs on the same texts give different vocabularies,
    and the tiny model must be reproducible.
    """
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts = _word_counts([*texts, *ROLE_MARKERS.values()], normalizer, pre_tokenizer)
    chars = sorted({ch for word in counts for ch in word})
    vocab_list = [*SPECIAL_TOKENS, *chars, *(f"##{ch}" for ch in chars)]
    seen = set(vocab_list)
    for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if len(vocab_list) >= vocab_size:
            break
        if word not in seen:
            vocab_list.append(word)
            seen.add(word)
    vocab = {token: i for i, token in enumerate(vocab_list)}
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    return tokenizer


def conversations_from_texts(texts: Sequence[str]) -> list[Conversation]:
    """Deterministic check conversations of varying length built from ``texts``.

    Alternating customer/bot turns of 1 to 7 turns, a lone request and one flow with a business turn, so
    export checks see single- and multi-window conversations and every scored role.
    """
    texts = [t for t in texts if t.strip()] or list(FALLBACK_TEXTS)
    convs: list[Conversation] = []
    pos, size = 0, 1
    while pos < len(texts) or len(convs) < 6:
        chunk = [texts[(pos + k) % len(texts)] for k in range(size)]
        turns = [Turn(role="user" if k % 2 == 0 else "assistant", text=t) for k, t in enumerate(chunk)]
        convs.append(Conversation(id=f"tiny-{len(convs)}", turns=turns))
        pos += size
        size = size % 7 + 1
    long_turns = [Turn(role="system", text="online fashion shop, orders and returns only")]
    long_turns += [
        Turn(role="user" if k % 2 == 0 else "assistant", text=texts[k % len(texts)]) for k in range(24)
    ]
    convs.append(Conversation(id=f"tiny-{len(convs)}", turns=long_turns))
    return convs


# short windows, so the check conversations of conversations_from_texts span one to several of them
SMALL_RENDER = RenderConfig(
    max_tokens=64, max_turn_tokens=32, turn_tail_tokens=8, context_tokens=16, max_system_tokens=8
)


def windows_of_texts(tokenizer: Tokenizer, texts: Sequence[str] = FALLBACK_TEXTS) -> list[Window]:
    """Every token window of ``conversations_from_texts(texts)`` under ``SMALL_RENDER`` (export checks)."""
    special = special_tokens_of(tokenizer)
    encoder = ConversationEncoder(tokenizer, SMALL_RENDER, special.cls_id, special.sep_id)
    return [w for ws in encoder.encode_many(conversations_from_texts(texts)) for w in ws]


def tiny_encoder_config(vocab_size: int) -> BertConfig:
    return BertConfig(vocab_size=vocab_size, pad_token_id=0, **TINY_ENCODER)


def build_tiny_base(out_dir: str | Path, texts: Sequence[str], *, seed: int = 0) -> Path:
    """A randomly initialised BERT in transformers format + tokenizer.json: a stand-in base model."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer([render_turn("user", t) for t in texts if t.strip()] or FALLBACK_TEXTS)
    tokenizer.save(str(out / TOKENIZER_FILE))
    torch.manual_seed(seed)
    scorer = TurnScorer.from_config(tiny_encoder_config(tokenizer.get_vocab_size()))
    scorer.encoder.save_pretrained(str(out))
    return out


def build_tiny_model(
    out_dir: str | Path,
    texts: Sequence[str],
    *,
    seed: int = 0,
    render: RenderConfig | None = None,
    precision: str = "auto",
) -> Path:
    """Write a complete, deterministic model folder (random weights) to ``out_dir`` and return it."""
    from training.package import write_model_folder

    out = Path(out_dir)
    texts = [t for t in texts if t.strip()] or list(FALLBACK_TEXTS)
    tokenizer = train_tokenizer([render_turn("user", t) for t in texts])
    torch.manual_seed(seed)
    model = TurnScorer.from_config(tiny_encoder_config(tokenizer.get_vocab_size())).eval()
    write_model_folder(
        out,
        model=model,
        tokenizer=tokenizer,
        render=render or RenderConfig(),
        special_tokens=special_tokens_of(tokenizer),
        base_model=BaseModelInfo(name="tiny-random-bert", package="scopeguard", version=None),
        model_name=TINY_NAME,
        check_convs=conversations_from_texts(texts),
        precision=precision,
    )
    return out


# The committed test fixture (tests/fixtures/tiny_model): the core and service tests load it without torch;
# tests/training/test_tiny_fixture.py rebuilds it and checks that it still matches.
FIXTURE_SEED = 0
# dynamic int8: the precision whose scores depend on batching, so scoring and serving tests exercise the
# one-window-per-call path that keeps them reproducible
FIXTURE_PRECISION = "int8"


def jsonl_turn_texts(path: str | Path) -> list[str]:
    """Every turn text of a schema-v1 JSONL file, in file order."""
    texts: list[str] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            texts.extend(t["text"] for t in record.get("turns", []) if isinstance(t.get("text"), str))
    return texts


def build_test_fixture(out_dir: str | Path, sample_jsonl: str | Path) -> Path:
    """The tiny model folder of the test suite, its vocabulary learnt from ``sample_jsonl``."""
    texts = jsonl_turn_texts(sample_jsonl) or list(FALLBACK_TEXTS)
    return build_tiny_model(out_dir, texts, seed=FIXTURE_SEED, precision=FIXTURE_PRECISION)


def main() -> None:
    parser = argparse.ArgumentParser(description="Rebuild the tiny model folder the test suite loads.")
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/tiny_model"))
    parser.add_argument("--sample", type=Path, default=Path("tests/fixtures/sample.jsonl"))
    args = parser.parse_args()
    print(build_test_fixture(args.out, args.sample))


if __name__ == "__main__":
    main()
