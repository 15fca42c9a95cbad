"""The one rendering of a conversation into model input, shared by training, evaluation, scoring and serving.

A conversation becomes one or more token windows. Each turn is rendered as ``<marker> <text>`` with
normalised whitespace, tokenised on its own and capped (long turns keep their head and tail). Turns are
packed into windows of at most ``max_tokens`` tokens; a window that does not start the conversation
carries the tail of the preceding turns as context, and every window repeats the (capped) system
turns, so each turn is seen with what came before it. Every user and assistant turn is *owned* by
exactly one window, the one whose span over it is scored; context tokens are never scored.

See docs/RENDERING.md for the rules and their reasons.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator
from tokenizers import Tokenizer

from classifier.schema import SCORED_ROLES, Conversation, record_profile

RENDERING_VERSION = "r1"

ROLE_MARKERS: dict[str, str] = {
    "user": "Customer:",
    "assistant": "Bot:",
    "agent": "Agent:",
    "system": "Business:",
}

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_WHITESPACE = re.compile(r"\s+")


class RenderConfig(BaseModel):
    """How conversations become windows. Stored with every model; training and inference must agree."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = RENDERING_VERSION
    max_tokens: int = Field(256, ge=16, description="tokens per window, special tokens included")
    max_turn_tokens: int = Field(128, ge=4, description="a longer turn keeps its head and tail")
    turn_tail_tokens: int = Field(32, ge=0, description="tokens kept from the end of a capped turn")
    context_tokens: int = Field(64, ge=0, description="tokens of earlier turns carried into a new window")
    max_system_tokens: int = Field(48, ge=0, description="tokens of system turns repeated in every window")

    @model_validator(mode="after")
    def _budget_fits(self) -> RenderConfig:
        if self.version != RENDERING_VERSION:
            raise ValueError(
                f"rendering version {self.version!r} is not supported by this scopeguard "
                f"(it renders {RENDERING_VERSION!r}); retrain the model or install the matching version"
            )
        if self.turn_tail_tokens >= self.max_turn_tokens:
            raise ValueError("turn_tail_tokens must be smaller than max_turn_tokens")
        needed = self.max_system_tokens + self.context_tokens + self.max_turn_tokens + 2
        if needed > self.max_tokens:
            raise ValueError(
                f"max_tokens={self.max_tokens} cannot hold max_system_tokens + context_tokens + "
                f"max_turn_tokens + 2 special tokens = {needed}; raise max_tokens or lower the others"
            )
        return self


@dataclass(frozen=True)
class TurnSpan:
    """Token positions [start, end) of one owned turn inside a window."""

    turn: int
    role: str
    start: int
    end: int


@dataclass(frozen=True)
class Window:
    input_ids: tuple[int, ...]
    spans: tuple[TurnSpan, ...]

    def __len__(self) -> int:
        return len(self.input_ids)


def normalize_text(text: str) -> str:
    """Unicode NFC, zero-width characters removed, every run of whitespace folded to one space."""
    text = unicodedata.normalize("NFC", text)
    text = _ZERO_WIDTH.sub("", text)
    return _WHITESPACE.sub(" ", text).strip()


def render_turn(role: str, text: str) -> str:
    return f"{ROLE_MARKERS[role]} {normalize_text(text)}"


def render_text(conv: Conversation) -> str:
    """The whole conversation as one readable string, one rendered turn per line (for people and audits)."""
    return "\n".join(render_turn(t.role, t.text) for t in conv.turns)


def _cap(ids: list[int], limit: int, tail: int) -> list[int]:
    if len(ids) <= limit:
        return ids
    head = limit - tail
    return ids[:head] + (ids[-tail:] if tail else [])


class ConversationEncoder:
    """Turns conversations into windows with one tokenizer and one RenderConfig.

    The tokenizer must be a ``tokenizers.Tokenizer``; its own truncation and padding are switched
    off because windowing decides both.
    """

    def __init__(self, tokenizer: Tokenizer, config: RenderConfig, cls_id: int, sep_id: int) -> None:
        self.tokenizer = tokenizer
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.config = config
        self.cls_id = cls_id
        self.sep_id = sep_id

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        cfg = self.config
        return [_cap(list(e.ids), cfg.max_turn_tokens, cfg.turn_tail_tokens) for e in encodings]

    def encode(self, conv: Conversation, default_profile: str | None = None) -> list[Window]:
        return self.encode_many([conv], default_profile)[0]

    def encode_many(
        self, convs: Sequence[Conversation], default_profile: str | None = None
    ) -> list[list[Window]]:
        """Windows of every conversation, each read under its business profile: its system turns, else
        its ``meta.business`` (``classifier.schema.record_profile``), else ``default_profile`` (the text of
        ``--business``, a request's or a model's default; ``classifier.profile`` has the same order). A
        profile that is not a system turn is rendered exactly like a system turn with that text, so every
        way of giving a profile reads the same; training renders through here too."""
        return [self._encode(conv, default_profile) for conv in convs]

    def _encode(self, conv: Conversation, default_profile: str | None) -> list[Window]:
        texts = [render_turn(t.role, t.text) for t in conv.turns]
        has_system = any(t.role == "system" for t in conv.turns)
        own = record_profile(conv) if not has_system else None
        profile = own.text if own is not None else default_profile
        extra = [render_turn("system", profile)] if profile is not None and not has_system else []
        ids = self._token_ids(texts + extra)
        turn_ids = ids[: len(texts)]
        system_ids = [i for t, i in zip(conv.turns, turn_ids, strict=True) if t.role == "system"] + ids[
            len(texts) :
        ]
        prefix = [tok for piece in system_ids for tok in piece][: self.config.max_system_tokens]
        return self._pack(conv, turn_ids, prefix)

    def _pack(self, conv: Conversation, turn_ids: list[list[int]], prefix: list[int]) -> list[Window]:
        cfg = self.config
        order = [i for i, t in enumerate(conv.turns) if t.role != "system"]
        budget = cfg.max_tokens - 2
        windows: list[Window] = []
        pos = 0
        while pos < len(order) or not windows:
            tokens = [self.cls_id, *prefix]
            if pos > 0:
                tokens.extend(self._context(order[:pos], turn_ids))
            spans: list[TurnSpan] = []
            first = True
            while pos < len(order):
                idx = order[pos]
                ids = turn_ids[idx]
                if not first and len(tokens) - 1 + len(ids) > budget:
                    break
                start = len(tokens)
                tokens.extend(ids)
                role = conv.turns[idx].role
                if role in SCORED_ROLES:
                    spans.append(TurnSpan(turn=idx, role=role, start=start, end=len(tokens)))
                pos += 1
                first = False
            tokens.append(self.sep_id)
            windows.append(Window(input_ids=tuple(tokens), spans=tuple(spans)))
        return windows

    def _context(self, earlier: list[int], turn_ids: list[list[int]]) -> list[int]:
        """The last ``context_tokens`` tokens of the turns before a new window."""
        remaining = self.config.context_tokens
        pieces: list[list[int]] = []
        for idx in reversed(earlier):
            if remaining <= 0:
                break
            ids = turn_ids[idx]
            piece = ids[-remaining:]
            pieces.append(piece)
            remaining -= len(piece)
        return [tok for piece in reversed(pieces) for tok in piece]
