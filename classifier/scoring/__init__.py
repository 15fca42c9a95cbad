"""Batch scoring: stream transcripts through a model, write one output row per conversation.

``run_score(ScoreJob(...))`` is what ``scopeguard score`` calls; see docs/SCORING.md. Modules:
``rows`` (the output row of a conversation or a quarantined record), ``outputs`` (JSONL/CSV/Parquet
writers that can be truncated back to a checkpoint), ``checkpoint`` (the fsync'd ``OUT.progress.json``),
``engine`` (reading, chunking, in-process or multi-process scoring, ordered writing), ``progress``
(rich progress bar on a terminal, periodic log lines otherwise).
"""

from classifier.scoring.engine import ScoreJob, ScoreSummary, run_score

__all__ = ["ScoreJob", "ScoreSummary", "run_score"]
