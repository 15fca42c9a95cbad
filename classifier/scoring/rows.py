"""The output row of one scored conversation, and the quarantine row of one unusable record.

A score row never carries transcript text: id, label, score, threshold, model id, evidence turns (index,
role, score), the business ``profile`` the decision was made under (source, name, digest: never its
text; null without one), ``source`` (``<file>:<line>``) and, when present, ``lang``, ``ts`` (time of
the first timestamped turn) and the ``meta`` keys the report groups by (``META_KEYS``).
"""

from __future__ import annotations

from typing import Any

import orjson

from classifier.inference import Prediction
from classifier.pseudonym import RAW_IDS, Pseudonymiser
from classifier.readers import Record
from classifier.schema import Conversation, RecordError

META_KEYS = ("channel", "business", "domain", "category")
PROFILE_KEYS = ("source", "name", "digest")  # classifier.profile.ProfileRef
# Column order of tabular outputs (CSV, Parquet); nested fields are flattened as ``meta.<key>`` and
# ``profile.<key>``.
COLUMNS = (
    "id",
    "label",
    "score",
    "threshold",
    "model",
    "evidence",
    *(f"profile.{key}" for key in PROFILE_KEYS),
    "source",
    "lang",
    "ts",
    *(f"meta.{key}" for key in META_KEYS),
)


def _meta_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    return orjson.dumps(value).decode()  # free-form meta: keep it as JSON text, never drop it


def first_timestamp(conv: Conversation) -> str | None:
    """ISO 8601 time of the first turn that has one (``Z`` for UTC), None without timestamps."""
    for turn in conv.turns:
        if turn.ts is not None:
            return turn.ts.isoformat().replace("+00:00", "Z")
    return None


def score_row(record: Record, prediction: Prediction, pseudo: Pseudonymiser = RAW_IDS) -> dict[str, Any]:
    """The JSON object written for one scored conversation (phone numbers in id and source replaced by
    ``pseudo``)."""
    conv = record.conversation
    row: dict[str, Any] = prediction.to_dict()
    row["id"] = pseudo.text(conv.id)
    row["source"] = pseudo.text(record.location)
    if conv.lang is not None:
        row["lang"] = conv.lang
    ts = first_timestamp(conv)
    if ts is not None:
        row["ts"] = ts
    meta = {key: _meta_value(conv.meta.get(key)) for key in META_KEYS if conv.meta.get(key) is not None}
    if meta:
        row["meta"] = meta
    return row


def quarantine_row(error: RecordError, pseudo: Pseudonymiser = RAW_IDS) -> dict[str, Any]:
    """The JSON object written to the quarantine file for one unusable record (phone numbers replaced)."""
    return {
        "file": pseudo.text(error.source),
        "line": error.line,
        "id": pseudo.optional(error.record_id),
        "reason": pseudo.text(error.problem),
    }


def flatten(row: dict[str, Any]) -> dict[str, Any]:
    """A score row with ``meta`` spread into ``meta.<key>`` columns (for CSV and Parquet)."""
    flat = {key: row.get(key) for key in COLUMNS if "." not in key}
    for group, keys in (("profile", PROFILE_KEYS), ("meta", META_KEYS)):
        values = row.get(group) or {}
        for key in keys:
            flat[f"{group}.{key}"] = values.get(key)
    return flat
