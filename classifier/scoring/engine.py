"""The scoring loop: read in input order, score in bounded chunks, write in input order, checkpoint.

Memory stays flat: at most ``chunk_size`` records per chunk are held (times ``workers + 1`` chunks in
flight with several workers), whatever the archive size. Within a chunk the classifier sorts windows by
length and batches them (``classifier.inference``), so padding is small. With ``workers > 1`` chunks
are scored by that many processes, each with its own onnxruntime session (``threads`` intra-op threads
each), and written back in input order.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from classifier.backend import DEFAULT_BATCH_SIZE, exact_batch_size
from classifier.compute import check_compute_choice
from classifier.inference import DEFAULT_MAX_BATCH_TOKENS, Classifier, Prediction, resolve_compute
from classifier.manifest import file_sha256
from classifier.model_config import TOKENIZER_FILE, ModelConfig
from classifier.profile import profile_label
from classifier.pseudonym import Pseudonymiser
from classifier.readers import ReadStats, Record, expand_paths, read_conversations
from classifier.schema import DEFAULT_LIMITS, BusinessProfile, Conversation, Limits, RecordError
from classifier.scoring.accounting import Accounting, RunManifest, now_iso, summary_path, unique_ids
from classifier.scoring.checkpoint import Checkpoint, arguments_hash, checkpoint_path
from classifier.scoring.outputs import JsonlFile, ScoreOutput, output_kind, require_pyarrow
from classifier.scoring.progress import LinePositions, Progress
from classifier.scoring.rows import quarantine_row, score_row

DEFAULT_CHUNK_SIZE = 256
# In-process scoring classifies a chunk in slices of this many conversations and reports progress after
# each, so the bar moves about once a second on CPU (scores do not depend on batching, see above).
PROGRESS_SLICE = 16
QUARANTINE_SUFFIX = ".quarantine.jsonl"

Item = Record | RecordError


def default_quarantine_path(out: Path) -> Path:
    """``scores.jsonl`` -> ``scores.quarantine.jsonl`` (next to the output)."""
    return out.with_name(out.stem + QUARANTINE_SUFFIX)


@dataclass(frozen=True)
class ScoreJob:
    """Everything one scoring run needs.

    inputs: files and directories (read recursively), as for ``scopeguard validate``.
    out: output file; .jsonl, .csv or .parquet. quarantine: JSONL of unusable records (default
    ``<out stem>.quarantine.jsonl``). model_dir: a model folder. format, limits, business_sender,
    window_hours: reader options (docs/FORMATS.md). workers: scoring processes (1 = in this process).
    threads: onnxruntime intra-op threads per process (None = onnxruntime's choice with one process,
    cores // workers with several). chunk_size: records per chunk (the unit of checkpointing).
    batch_size, max_batch_tokens: windows per onnxruntime call; batch_size None = 1 for an int8 model
    (dynamic quantisation scales activations over the whole batch, so with bigger batches a score
    would depend on the conversations batched with it; see docs/SCORING.md), DEFAULT_BATCH_SIZE for
    fp32 (batch-invariant). strict: stop at the first unusable
    record. resume: continue a stopped run from ``OUT.progress.json``. profile: the business profile of
    conversations that carry none (``--business``; classifier.profile). compute: the product arithmetic,
    "auto" (per CPU), "int8" or "fp32" (classifier.compute.choose_compute).
    """

    inputs: tuple[str, ...]
    out: Path
    model_dir: Path
    quarantine: Path | None = None
    format: str = "auto"
    limits: Limits = DEFAULT_LIMITS
    business_sender: str | None = None
    window_hours: float = 24.0
    workers: int = 1
    threads: int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    batch_size: int | None = None
    max_batch_tokens: int = DEFAULT_MAX_BATCH_TOKENS
    strict: bool = False
    resume: bool = False
    profile: BusinessProfile | None = None
    raw_ids: bool = False
    id_key: Path | None = None
    compute: str = "auto"

    def __post_init__(self) -> None:
        check_compute_choice(self.compute)
        for name in ("workers", "chunk_size", "batch_size", "max_batch_tokens"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
        if not self.inputs:
            raise ValueError("inputs is empty: give at least one file or directory to score")
        output_kind(self.out)  # a usage error before anything is read
        if self.quarantine_path.resolve() == self.out.resolve():
            raise ValueError(f"the quarantine file {self.quarantine_path} must differ from --out")

    @property
    def quarantine_path(self) -> Path:
        return self.quarantine or default_quarantine_path(self.out)

    @property
    def threads_per_worker(self) -> int | None:
        if self.threads is not None or self.workers == 1:
            return self.threads
        return max(1, (os.cpu_count() or 1) // self.workers)

    def effective_batch_size(self, precision: str) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return exact_batch_size(precision)

    def reader_kwargs(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "limits": self.limits,
            "business_sender": self.business_sender,
            "window_hours": self.window_hours,
        }


@dataclass
class ScoreSummary:
    read: int = 0
    scored: int = 0
    quarantined: int = 0
    resumed_from: int = 0
    stopped_early: bool = False
    already_complete: bool = False
    model_id: str = ""
    compute: str = ""
    out: Path | None = None
    quarantine: Path | None = None
    summary_file: Path | None = None
    duplicates: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    profile: str | None = None  # the --business profile: its name and digest, never its text
    outputs_opened: bool = False

    @property
    def failure(self) -> str | None:
        """Why the run produced nothing usable (no record read, or every record quarantined), else None."""
        if self.already_complete or self.stopped_early:
            return None
        if self.read == 0:
            return "no records were read: the inputs are empty (nothing was written)"
        if self.scored == 0:
            return (
                f"all {self.read} records were quarantined, none scored: see {self.quarantine} for the "
                "reasons and fix the input"
            )
        return None

    @property
    def accounted(self) -> bool:
        """Every record read was either scored or quarantined."""
        return self.read == self.scored + self.quarantined


# -- settings and checkpoint -----------------------------------------------------------------------


def model_fingerprint(model_dir: Path, compute: str = "auto") -> dict[str, str]:
    """Model id, precision, product arithmetic on this CPU and content hashes of the files that decide
    the scores (a resume on a CPU that multiplies differently is refused)."""
    config = ModelConfig.load(model_dir)
    files = (model_dir / "scopeguard.json", model_dir / config.onnx_file, model_dir / TOKENIZER_FILE)
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: the model folder {model_dir} is incomplete")
    hashes = {path.name: file_sha256(path) for path in files}
    return {
        "model_id": config.model_id,
        "precision": config.precision,
        "compute": resolve_compute(config, compute),
        **hashes,
    }


def job_settings(job: ScoreJob, files: Sequence[Path], model: dict[str, str]) -> dict[str, Any]:
    """What decides the output of a run, grouped so a refused resume can say what changed."""
    inputs = []
    for path in files:
        stat = path.stat()
        inputs.append([str(path.resolve()), stat.st_size, stat.st_mtime_ns])
    reader = job.reader_kwargs()
    reader["limits"] = job.limits.model_dump()
    return {
        "inputs": inputs,
        "reader": reader,
        "model": model,
        "profile": None if job.profile is None else job.profile.model_dump(),
        "output": {
            "out": str(job.out.resolve()),
            "quarantine": str(job.quarantine_path.resolve()),
            "strict": job.strict,
            "raw_ids": job.raw_ids,
            "batch_size": job.effective_batch_size(model["precision"]),
            "max_batch_tokens": job.max_batch_tokens,
        },
    }


def _settings_hash(settings: dict[str, Any]) -> str:
    parts = {key: arguments_hash(value) for key, value in sorted(settings.items())}
    return ";".join(f"{key}={digest[:16]}" for key, digest in parts.items())


def _changed_parts(old: str, new: str) -> list[str]:
    def parse(text: str) -> dict[str, str]:
        return dict(part.split("=", 1) for part in text.split(";") if "=" in part)

    before, after = parse(old), parse(new)
    return sorted(key for key in after if before.get(key) != after[key]) or ["settings"]


def _resumable(checkpoint: Checkpoint, settings_hash: str) -> bool:
    """An unfinished run with the same arguments and inputs: --resume could continue it."""
    return not checkpoint.complete and checkpoint.arguments_hash == settings_hash


def _resume_point(job: ScoreJob, settings_hash: str, model_id: str, err: TextIO) -> Checkpoint | None:
    """The checkpoint to continue from, None to start over; ValueError when resuming is refused."""
    path = checkpoint_path(job.out)
    if not job.resume:
        if path.is_file() and _resumable(Checkpoint.load(path), settings_hash):
            raise ValueError(
                f"{job.out}: an unfinished run of this output exists ({path}); add --resume to continue "
                f"it, or delete {path} to start over"
            )
        return None
    if not path.is_file():
        print(f"scopeguard score: no checkpoint {path}; starting from the beginning", file=err)
        return None
    checkpoint = Checkpoint.load(path)
    if checkpoint.arguments_hash != settings_hash:
        changed = ", ".join(_changed_parts(checkpoint.arguments_hash, settings_hash))
        raise ValueError(
            f"refusing to resume: the {changed} differ from the stopped run recorded in {path} "
            f"(model then: {checkpoint.model_id}, now: {model_id}); run with the same arguments and "
            "unchanged input files, or without --resume to start over"
        )
    return checkpoint


# -- scoring backends ------------------------------------------------------------------------------

_WORKER_CLASSIFIER: Classifier | None = None
_WORKER_JOB: ScoreJob | None = None
_WORKER_BATCH_SIZE = DEFAULT_BATCH_SIZE


def _init_worker(job: ScoreJob, batch_size: int) -> None:
    global _WORKER_CLASSIFIER, _WORKER_JOB, _WORKER_BATCH_SIZE
    _WORKER_CLASSIFIER = Classifier.load(job.model_dir, threads=job.threads_per_worker, compute=job.compute)
    _WORKER_JOB, _WORKER_BATCH_SIZE = job, batch_size


def _classify(clf: Classifier, job: ScoreJob, batch_size: int, convs: list[Conversation]) -> list[Prediction]:
    return clf.classify(
        convs, profile=job.profile, batch_size=batch_size, max_batch_tokens=job.max_batch_tokens
    )


def _classify_in_worker(convs: list[Conversation]) -> list[Prediction]:
    assert _WORKER_CLASSIFIER is not None and _WORKER_JOB is not None, "worker not initialised"
    return _classify(_WORKER_CLASSIFIER, _WORKER_JOB, _WORKER_BATCH_SIZE, convs)


class _Done(Future[list[Prediction]]):
    """An already finished future, so in-process and pooled scoring share one pipeline."""

    def __init__(self, value: list[Prediction]) -> None:
        super().__init__()
        self.set_result(value)


class _Scorer:
    """Submits the conversations of a chunk; in this process or in a pool of worker processes."""

    def __init__(self, job: ScoreJob, batch_size: int) -> None:
        self.job = job
        self.batch_size = batch_size
        self.on_progress: Callable[[int], None] = lambda n: None  # conversations of the chunk done so far
        self.pool: ProcessPoolExecutor | None = None
        self.clf: Classifier | None = None
        threads = job.threads_per_worker
        if job.workers == 1:
            self.clf = Classifier.load(job.model_dir, threads=threads, compute=job.compute)
        else:
            # spawn: onnxruntime's thread pools do not survive fork, and spawn behaves alike everywhere
            self.pool = ProcessPoolExecutor(
                max_workers=job.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(job, batch_size),
            )

    @property
    def in_flight(self) -> int:
        return 1 if self.pool is None else self.job.workers + 1

    def submit(self, convs: list[Conversation]) -> Future[list[Prediction]]:
        if self.pool is not None:
            return self.pool.submit(_classify_in_worker, convs)
        assert self.clf is not None
        predictions: list[Prediction] = []
        for start in range(0, len(convs), PROGRESS_SLICE):
            part = convs[start : start + PROGRESS_SLICE]
            predictions += _classify(self.clf, self.job, self.batch_size, part)
            self.on_progress(len(predictions))
        return _Done(predictions)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


# -- the loop --------------------------------------------------------------------------------------


def _chunks(items: Iterator[Item], size: int, strict: bool) -> Iterator[tuple[list[Item], bool]]:
    """Chunks of at most ``size`` items in input order; with ``strict`` the chunk holding the first
    unusable record ends with it and is the last (flag True)."""
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if strict and isinstance(item, RecordError):
            yield chunk, True
            return
        if len(chunk) >= size:
            yield chunk, False
            chunk = []
    if chunk:
        yield chunk, False


def _skip(items: Iterator[Item], n: int, account: Accounting) -> tuple[int, Item | None]:
    """Consume ``n`` items (counted in ``account``); returns how many there were and the last one."""
    skipped, last = 0, None
    while skipped < n:
        item = next(items, None)
        if item is None:
            break
        account.add(item)
        skipped, last = skipped + 1, item
    return skipped, last


def _remove_outputs(job: ScoreJob, *, keep_quarantine: bool) -> None:
    """A run that produced nothing usable leaves no empty files behind."""
    for path in (job.out, checkpoint_path(job.out), summary_path(job.out)):
        path.unlink(missing_ok=True)
    ScoreOutput(job.out).data_path.unlink(missing_ok=True)
    if not keep_quarantine:
        job.quarantine_path.unlink(missing_ok=True)


def _manifest(
    job: ScoreJob, summary: ScoreSummary, stats: ReadStats, account: Accounting, pseudo: Pseudonymiser
) -> RunManifest:
    files = []
    for source, file_stats in stats.files.items():
        counts = account.files.get(source) or account.empty(source)
        counts = counts.model_copy(
            update={"file": pseudo.text(source), "skipped": sum(file_stats.skipped.values())}
        )
        files.append(counts)
    return RunManifest(
        model=summary.model_id,
        compute=summary.compute or None,
        threshold=account.threshold,
        ids="pseudonymised" if pseudo.active else "raw",
        started=account.started,
        finished=now_iso(),
        complete=not summary.stopped_early,
        inputs=[pseudo.text(str(path)) for path in job.inputs],
        read=summary.read,
        scored=summary.scored,
        quarantined=summary.quarantined,
        duplicates=account.duplicates,
        skipped=stats.skipped,
        files=files,
        period=account.period(),
        quarantine=str(job.quarantine_path) if summary.quarantined else None,
    )


def run_score(job: ScoreJob, *, err: TextIO | None = None) -> ScoreSummary:
    """Score ``job.inputs`` into ``job.out`` (see the module docstring and docs/SCORING.md).

    Writes the accounting sidecar ``<out stem>.summary.json`` at the end. A run that read nothing, or
    quarantined everything, removes its empty outputs and says why in ``summary.failure``.
    """
    summary = ScoreSummary(out=job.out, quarantine=job.quarantine_path)
    try:
        _run_score(job, summary, err=err)
    except BaseException:
        if summary.outputs_opened and summary.scored + summary.quarantined == 0 and not summary.resumed_from:
            _remove_outputs(job, keep_quarantine=False)
        raise
    if summary.failure is not None:
        _remove_outputs(job, keep_quarantine=summary.quarantined > 0)
    return summary


def _run_score(job: ScoreJob, summary: ScoreSummary, *, err: TextIO | None = None) -> None:
    err = err if err is not None else sys.stderr
    if output_kind(job.out) == "parquet":
        require_pyarrow("Parquet output")
    files = expand_paths(job.inputs)
    if not files:
        raise ValueError(
            f"nothing to score: {', '.join(job.inputs)} holds no data files (.jsonl, .json, .csv, .txt, "
            "optionally .gz); check the path"
        )
    pseudo = Pseudonymiser.from_settings(job.raw_ids, job.id_key)
    model = model_fingerprint(job.model_dir, job.compute)
    settings_hash = _settings_hash(job_settings(job, files, model))
    checkpoint = _resume_point(job, settings_hash, model["model_id"], err)
    summary.model_id, summary.compute = model["model_id"], model["compute"]
    summary.profile = None if job.profile is None else profile_label(job.profile)
    if checkpoint is not None and checkpoint.complete:
        summary.read = summary.resumed_from = checkpoint.records_done
        summary.scored, summary.quarantined = checkpoint.scored, checkpoint.quarantined
        summary.already_complete = True
        return

    positions = LinePositions(files)
    start_position = 0
    stats = ReadStats()
    account = Accounting()
    items = unique_ids(iter(read_conversations(job.inputs, stats=stats, **job.reader_kwargs())), set())
    output = ScoreOutput(job.out)
    quarantine = JsonlFile(job.quarantine_path)
    ckpt_path = checkpoint_path(job.out)
    if checkpoint is None:
        ckpt_path.unlink(missing_ok=True)
        summary.outputs_opened = True
        output.open(None)
        quarantine.open(None)
    else:
        output.open(checkpoint.output_offset)
        quarantine.open(checkpoint.quarantine_offset)
        summary.resumed_from = checkpoint.records_done
        summary.scored, summary.quarantined = checkpoint.scored, checkpoint.quarantined
        skipped, last_skipped = _skip(items, checkpoint.records_done, account)
        if skipped != checkpoint.records_done:
            raise ValueError(
                f"cannot resume: the input holds fewer records than the {checkpoint.records_done} the "
                f"checkpoint {ckpt_path} says were done; run again without --resume"
            )
        if last_skipped is not None:
            start_position = positions.advance(last_skipped.source, last_skipped.line)

    last: list[Checkpoint] = []

    def save() -> None:
        last[:] = [
            Checkpoint(
                arguments_hash=settings_hash,
                model_id=model["model_id"],
                records_done=summary.scored + summary.quarantined,
                scored=summary.scored,
                quarantined=summary.quarantined,
                output_offset=output.sync(),
                quarantine_offset=quarantine.sync(),
            )
        ]
        last[0].save(ckpt_path)

    save()  # from here on a checkpoint always matches the files
    scorer = _Scorer(job, job.effective_batch_size(model["precision"]))
    pending: deque[tuple[list[Item], Future[list[Prediction]]]] = deque()
    try:
        with Progress(positions.total, err) as progress:
            progress.start_from(summary.resumed_from, start_position)
            scorer.on_progress = lambda n: progress.partial(summary.scored + summary.quarantined + n)

            def write(chunk: list[Item], future: Future[list[Prediction]]) -> None:
                predictions = iter(future.result())
                rows, bad = [], []
                for item in chunk:
                    account.add(item)
                    if isinstance(item, RecordError):
                        bad.append(quarantine_row(item, pseudo))
                    else:
                        rows.append(score_row(item, next(predictions), pseudo))
                        account.threshold = rows[-1]["threshold"]
                output.write(rows)
                quarantine.write(bad)
                summary.scored += len(rows)
                summary.quarantined += len(bad)
                save()
                position = positions.advance(chunk[-1].source, chunk[-1].line)
                progress.update(position, summary.scored + summary.quarantined, summary.quarantined)

            for chunk, stop in _chunks(items, job.chunk_size, job.strict):
                convs = [item.conversation for item in chunk if isinstance(item, Record)]
                pending.append((chunk, scorer.submit(convs)))
                while len(pending) >= scorer.in_flight:
                    write(*pending.popleft())
                if stop:
                    summary.stopped_early = True
                    break
            while pending:
                write(*pending.popleft())
    finally:
        scorer.close()
        output.close()
        quarantine.close()
    if not summary.stopped_early:
        output.finish()  # Parquet: convert the staging file (a rerun with --resume redoes it if killed)
        replace(last[0], complete=True).save(ckpt_path)
    summary.read = stats.read
    summary.skipped = stats.skipped
    summary.duplicates = account.duplicates
    summary.summary_file = summary_path(job.out)
    _manifest(job, summary, stats, account, pseudo).save(summary.summary_file)
