"""Training data: conversations -> ``datasets`` of windows with turn targets, after the provenance gate.

The gate itself (manifest, sha256, exclusive_use) lives in ``classifier.manifest``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from classifier.readers import read_conversations
from classifier.render import ConversationEncoder
from classifier.schema import POSITIVE_LABEL, Conversation, RecordError
from training.model import CHANNEL_OF_ROLE
from training.targets import TARGETS_VERSION, TargetError, turn_targets

NO_TARGET = -1.0
MAX_LISTED_ERRORS = 10


class DataError(ValueError):
    """Training data that cannot be used as it is (invalid records, duplicate ids, bad meta)."""


# -- conversations ---------------------------------------------------------------------------------


def load_conversations(paths: Sequence[Path], *, require_labels: bool = True) -> list[Conversation]:
    """All conversations of ``paths`` (schema v1 JSON Lines, .gz allowed). Any invalid record is an error."""
    convs: list[Conversation] = []
    errors: list[RecordError] = []
    for item in read_conversations(list(paths), format="jsonl"):
        if isinstance(item, RecordError):
            errors.append(item)
            continue
        conv = item.conversation
        if require_labels and conv.label is None:
            errors.append(RecordError(item.source, item.line, conv.id, "label is missing"))
            continue
        convs.append(conv)
    if errors:
        listed = "; ".join(e.describe() for e in errors[:MAX_LISTED_ERRORS])
        more = f" (and {len(errors) - MAX_LISTED_ERRORS} more)" if len(errors) > MAX_LISTED_ERRORS else ""
        raise DataError(f"{len(errors)} unusable training records: {listed}{more}")
    seen: dict[str, int] = {}
    for conv in convs:
        seen[conv.id] = seen.get(conv.id, 0) + 1
    dupes = sorted(i for i, n in seen.items() if n > 1)
    if dupes:
        raise DataError(f"{len(dupes)} conversation ids occur more than once in {paths}: {dupes[:10]}")
    return convs


def check_disjoint(splits: dict[str, list[Conversation]]) -> None:
    """No conversation id may be in two splits (a leak would inflate every validation number)."""
    owner: dict[str, str] = {}
    for split, convs in splits.items():
        for conv in convs:
            if conv.id in owner and owner[conv.id] != split:
                raise DataError(f"id {conv.id} is in both split {owner[conv.id]!r} and {split!r}")
            owner[conv.id] = split


# -- windows with targets --------------------------------------------------------------------------


PAIR_META_KEY = "pair_id"  # datagen's scope pairs: one exchange under two profiles, opposite labels


def pair_key(conv: Conversation) -> str:
    """The scope pair a conversation belongs to (``meta.pair_id``), "" when it is none."""
    value = conv.meta.get(PAIR_META_KEY)
    return "" if value is None else str(value)


def encode_example(conv: Conversation, encoder: ConversationEncoder) -> dict[str, Any]:
    """One conversation as model input: its windows, every owned span with channel and target, MIL flag."""
    try:
        targets = turn_targets(conv)
    except TargetError as exc:
        raise DataError(str(exc)) from None
    windows = encoder.encode(conv)
    example: dict[str, Any] = {
        "id": conv.id,
        "label": int(conv.label == POSITIVE_LABEL),
        "mil": targets.mil,
        "pair": pair_key(conv),
        "input_ids": [list(w.input_ids) for w in windows],
        "span_window": [],
        "span_start": [],
        "span_end": [],
        "span_turn": [],
        "span_channel": [],
        "span_target": [],
    }
    for w, window in enumerate(windows):
        for span in window.spans:
            example["span_window"].append(w)
            example["span_start"].append(span.start)
            example["span_end"].append(span.end)
            example["span_turn"].append(span.turn)
            example["span_channel"].append(CHANNEL_OF_ROLE[span.role])
            example["span_target"].append(targets.targets.get(span.turn, NO_TARGET))
    example["n_windows"] = len(windows)
    example["n_tokens"] = sum(len(w) for w in windows)
    example["max_len"] = max(len(w) for w in windows)
    return example


# How a record's own profile is rendered (classifier.render): part of the cache key, so a cache encoded
# before the encoder read meta.business itself is never reused.
PROFILE_RENDERING = "meta.business-as-system-prefix"
# The columns of an encoded row beyond the windows: a cache written before a column existed is not reused.
ROW_COLUMNS = "mil,pair"


def dataset_fingerprint(encoder: ConversationEncoder, sources: Sequence[str]) -> str:
    """Cache key of the encoded dataset: data file hashes, tokenizer, rendering and target rules."""
    digest = hashlib.sha256()
    for part in (
        *sorted(sources),
        encoder.tokenizer.to_str(),
        encoder.config.model_dump_json(),
        f"{encoder.cls_id},{encoder.sep_id}",
        TARGETS_VERSION,
        PROFILE_RENDERING,
        ROW_COLUMNS,
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def encode_dataset(
    convs: Sequence[Conversation],
    encoder: ConversationEncoder,
    *,
    cache_dir: Path | None,
    name: str,
    sources: Sequence[str] = (),
) -> Any:
    """A ``datasets.Dataset`` with one row per conversation (see ``encode_example``), cached on disk.

    ``sources`` (e.g. the sha256 of the data files) make the cache key; without them, or without a
    ``cache_dir``, the conversations' own JSON is hashed into the key instead.
    """
    from datasets import Dataset

    records = [orjson.dumps(c.to_record()).decode() for c in convs]
    key_sources = list(sources) or [hashlib.sha256("\n".join(records).encode()).hexdigest()]
    fingerprint = dataset_fingerprint(encoder, key_sources)
    base = Dataset.from_dict({"record": records})

    def encode_batch(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        rows = [
            encode_example(Conversation.model_validate(orjson.loads(r)), encoder) for r in batch["record"]
        ]
        return {key: [row[key] for row in rows] for key in rows[0]}

    cache_file = None
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache_file = str(cache_dir / f"{name}-{fingerprint}.arrow")
    return base.map(
        encode_batch,
        batched=True,
        batch_size=256,
        remove_columns=["record"],
        cache_file_name=cache_file,
        load_from_cache_file=cache_file is not None,
        new_fingerprint=fingerprint,
        desc=f"encoding {name}",
    )
