"""The TF-IDF baseline fits on labelled conversations and scores any set; it refuses one-label data."""

from __future__ import annotations

import pytest

from classifier.schema import parse_conversation
from training.baselines import fit_tfidf_baseline, format_scores, score_baseline


def conv(i: int, label: str, user: str, bot: str):
    return parse_conversation(
        {
            "id": f"c{i}",
            "label": label,
            "turns": [{"role": "user", "text": user}, {"role": "assistant", "text": bot}],
        }
    )


def dataset(offset: int = 0):
    business = [
        conv(offset + i, "business_support", f"where is my order {i}", "It ships tomorrow.")
        for i in range(20)
    ]
    general = [
        conv(offset + 100 + i, "general_assistance", f"write a poem about cats {i}", "Soft paws at dawn.")
        for i in range(20)
    ]
    return business + general


def test_baseline_learns_and_scores():
    pipeline = fit_tfidf_baseline(dataset())
    score = score_baseline(pipeline, dataset(500), "held")
    assert score.n == 40 and score.accuracy == 1.0 and score.auc == 1.0 and score.general_share == 0.5
    assert "| held | 40 | 50% | 1.000 | 1.000 |" in format_scores([score])


def test_baseline_needs_both_labels():
    with pytest.raises(ValueError, match="both labels"):
        fit_tfidf_baseline([c for c in dataset() if c.label == "business_support"])


def test_one_label_set_has_no_auc():
    pipeline = fit_tfidf_baseline(dataset())
    score = score_baseline(pipeline, [c for c in dataset(900) if c.label == "general_assistance"], "hh-like")
    assert score.auc is None and score.accuracy == 1.0
