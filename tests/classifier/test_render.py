"""The one rendering: windows own every scorable turn once, carry context, and respect their budget."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from classifier.render import ConversationEncoder, RenderConfig, normalize_text, render_text, render_turn
from classifier.schema import parse_conversation

CLS, SEP = 1, 2


@pytest.fixture(scope="module")
def word_tokenizer() -> Tokenizer:
    """One token per word: makes token counts easy to reason about."""
    words = "customer: bot: agent: business: hi where is my order the poem about sea thanks ok".split()
    vocab = {"[UNK]": 0, "[CLS]": CLS, "[SEP]": SEP, **{w: i + 3 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tok


def conv(*turns: tuple[str, str]) -> object:
    return parse_conversation({"id": "c", "turns": [{"role": r, "text": t} for r, t in turns]})


def test_normalize_text_folds_whitespace_and_zero_width() -> None:
    assert normalize_text("  hi\u200b there\n\n  you\t!  ") == "hi there you !"


def test_render_turn_marks_role() -> None:
    assert render_turn("assistant", "Hello\nthere") == "Bot: Hello there"
    assert render_text(conv(("user", "hi"), ("assistant", "ok"))) == "Customer: hi\nBot: ok"


def test_short_conversation_is_one_window_owning_every_turn(word_tokenizer: Tokenizer) -> None:
    enc = ConversationEncoder(word_tokenizer, RenderConfig(), CLS, SEP)
    windows = enc.encode(conv(("user", "hi where is my order"), ("assistant", "thanks ok")))
    assert len(windows) == 1
    (w,) = windows
    assert w.input_ids[0] == CLS and w.input_ids[-1] == SEP
    assert [(s.turn, s.role) for s in w.spans] == [(0, "user"), (1, "assistant")]
    # "customer:" marker + 5 words, then "bot:" + 2 words
    assert [(s.start, s.end) for s in w.spans] == [(1, 7), (7, 10)]


def test_long_conversation_is_split_with_context_and_each_turn_owned_once(word_tokenizer: Tokenizer) -> None:
    cfg = RenderConfig(
        max_tokens=24, max_turn_tokens=8, turn_tail_tokens=2, context_tokens=4, max_system_tokens=2
    )
    enc = ConversationEncoder(word_tokenizer, cfg, CLS, SEP)
    text = "where is my order the poem about sea"
    turns = [("user" if i % 2 == 0 else "assistant", text) for i in range(10)]
    windows = enc.encode(conv(("system", "business hi"), *turns))
    assert len(windows) > 1
    owned = [s.turn for w in windows for s in w.spans]
    assert owned == list(range(1, 11)), "every user/assistant turn is owned exactly once, in order"
    for w in windows:
        assert len(w) <= cfg.max_tokens
        assert w.input_ids[1] == word_tokenizer.token_to_id("business:"), "system prefix in every window"
    # a later window starts its first owned span after system prefix + context
    assert windows[1].spans[0].start == 1 + 2 + cfg.context_tokens


def test_capped_turn_keeps_head_and_tail(word_tokenizer: Tokenizer) -> None:
    cfg = RenderConfig(
        max_tokens=32, max_turn_tokens=6, turn_tail_tokens=2, context_tokens=4, max_system_tokens=4
    )
    enc = ConversationEncoder(word_tokenizer, cfg, CLS, SEP)
    (w,) = enc.encode(conv(("assistant", "hi where is my order the poem about sea thanks")))
    vocab = word_tokenizer.get_vocab()
    ids = list(w.input_ids[w.spans[0].start : w.spans[0].end])
    assert ids == [vocab[t] for t in ("bot:", "hi", "where", "is", "sea", "thanks")]


def test_system_only_conversation_has_one_window_without_spans(word_tokenizer: Tokenizer) -> None:
    enc = ConversationEncoder(word_tokenizer, RenderConfig(), CLS, SEP)
    (w,) = enc.encode(conv(("system", "business")))
    assert w.spans == ()


def test_render_config_rejects_budget_that_cannot_hold_a_turn() -> None:
    with pytest.raises(ValidationError, match="cannot hold"):
        RenderConfig(
            max_tokens=64, max_turn_tokens=60, context_tokens=10, max_system_tokens=0, turn_tail_tokens=4
        )
