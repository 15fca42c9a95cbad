"""What more than one benchmark needs."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from classifier.inference import Classifier, TurnLogits
from classifier.schema import Conversation


def pipeline_style_logits(clf: Classifier, convs: Sequence[Conversation]) -> list[TurnLogits]:
    """Raw logits with one backend call per conversation (all its windows padded together), as a
    ``transformers`` pipeline runs by default: the baseline of the speed targets."""
    return [
        clf.turn_logits_many([conv], batch_size=sys.maxsize, max_batch_tokens=sys.maxsize,
                             max_padding_share=1.0)[0]
        for conv in convs
    ]  # fmt: skip
