"""``review pick``: stream an archive, choose conversations to review (``classifier.picking``), store them.

Invalid records and duplicate ids are accounted for as in ``score``: each goes to the quarantine file
(``<queue>.quarantine.jsonl`` unless given; ids pseudonymised) and read = considered + invalid. Picking
again into the same queue adds new conversations; ones already in it (same id, or the same turns) are
left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from classifier.inference import Classifier
from classifier.picking import Candidate, PickSettings, conversation_digest, pick
from classifier.profile import profile_digest, resolve_profile
from classifier.pseudonym import Pseudonymiser
from classifier.readers import read_conversations
from classifier.schema import BusinessProfile, RecordError
from classifier.scoring.accounting import unique_ids
from classifier.scoring.rows import quarantine_row
from review.queue import Item, PickRun, ReviewQueue, now

QUARANTINE_SUFFIX = ".quarantine.jsonl"


def default_quarantine(queue: Path) -> Path:
    return queue.with_name(queue.name + QUARANTINE_SUFFIX)


@dataclass(frozen=True)
class PickJob:
    """One ``review pick``: inputs, queue, model folder, n, seed, profile and reader settings."""

    inputs: tuple[str, ...]
    queue: Path
    model_dir: Path
    n: int
    seed: int = 0
    random_share: float = 0.1
    profile: BusinessProfile | None = None
    second_model: Path | None = None
    quarantine: Path | None = None
    raw_ids: bool = False
    id_key: Path | None = None
    threads: int | None = None
    reader: dict[str, Any] | None = None


@dataclass(frozen=True)
class PickReport:
    read: int
    considered: int
    invalid: int
    added: int
    already_queued: int
    quarantine: Path | None
    model: str
    queue_size: int


def run_pick(job: PickJob, on_progress: Callable[[int], None] = lambda _: None) -> PickReport:
    """Pick ``job.n`` conversations into the queue (created when missing)."""
    settings = PickSettings(n=job.n, seed=job.seed, random_share=job.random_share)
    pseudo = Pseudonymiser.from_settings(job.raw_ids, job.id_key)
    with ReviewQueue.open(job.queue, create=True) as queue:
        known_ids, known_digests = queue.known_ids(), queue.known_digests()
        clf = Classifier.load(job.model_dir, threads=job.threads)
        second = Classifier.load(job.second_model, threads=job.threads) if job.second_model else None
        quarantine = job.quarantine or default_quarantine(job.queue)
        bad: list[bytes] = []

        def on_invalid(error: RecordError) -> None:
            bad.append(orjson.dumps(quarantine_row(error, pseudo)) + b"\n")

        items = unique_ids(iter(read_conversations(list(job.inputs), **(job.reader or {}))), set())
        # Conversations already queued are not offered again (memory: the queue's ids, not the archive's).
        fresh = (
            it for it in items
            if isinstance(it, RecordError) or (pseudo.text(it.conversation.id) not in known_ids
                                               and conversation_digest(it.conversation) not in known_digests)
        )  # fmt: skip
        chosen, stats = pick(fresh, clf, settings, profile=job.profile, second=second,
                             on_invalid=on_invalid, on_progress=on_progress)  # fmt: skip
        if bad:
            quarantine.parent.mkdir(parents=True, exist_ok=True)
            quarantine.write_bytes(b"".join(bad))
        run = PickRun(
            at=now(), inputs=[pseudo.text(str(p)) for p in job.inputs], model=clf.model_id,
            profile=_profile_summary(job.profile),
            n=job.n, seed=job.seed, read=stats.read, considered=stats.considered, invalid=stats.invalid,
            added=len(chosen), quarantine=str(quarantine) if bad else None,
        )  # fmt: skip
        fallback = job.profile or clf.config.default_profile
        added = queue.add_run(run, [_item(c, pseudo, fallback) for c in chosen])
        size = len(known_ids) + added
    return PickReport(
        read=stats.read,
        considered=stats.considered,
        invalid=stats.invalid,
        added=added,
        already_queued=len(known_ids),
        quarantine=quarantine if bad else None,
        model=clf.model_id,
        queue_size=size,
    )


def _profile_summary(profile: BusinessProfile | None) -> dict[str, Any] | None:
    """The --business profile of a run: name and digest (the text is kept with each item judged by it)."""
    if profile is None:
        return None
    return {"name": profile.name, "digest": profile_digest(profile.text)}


def _item(cand: Candidate, pseudo: Pseudonymiser, fallback: BusinessProfile | None) -> Item:
    """Only what review needs: pseudonymised id and source, lang, channel, turns (role and text), the
    profile the decision was made under, and the model's view."""
    conv, pred = cand.conversation, cand.prediction
    resolved = resolve_profile(conv, fallback)
    profile = {**resolved.ref.to_dict(), "text": resolved.text} if resolved is not None else None
    return Item(
        conv_id=pseudo.text(conv.id),
        source=pseudo.text(cand.source),
        lang=conv.lang,
        channel=cand.stratum[1] if cand.stratum[1] != "unknown" else None,
        turns=[{"role": t.role, "text": t.text} for t in conv.turns],
        profile=profile,
        pre_label=pred.label,
        score=round(pred.score, 6),
        threshold=pred.threshold,
        model=pred.model,
        evidence=[e.to_dict() for e in pred.evidence],
        turn_scores={str(t): round(s, 4) for t, s in sorted(pred.turn_scores.items())},
        reasons=cand.reasons,
        rank=0,
        run_id=0,
        digest=conversation_digest(conv),
    )


def describe(report: PickReport) -> Sequence[str]:
    lines = [
        f"{report.read} records read: {report.considered} considered, {report.invalid} quarantined"
        + (f" ({report.quarantine})" if report.quarantine else ""),
        f"picked {report.added} conversations ({report.already_queued} were queued before; "
        f"{report.queue_size} in the queue) with model {report.model}",
    ]
    return lines
