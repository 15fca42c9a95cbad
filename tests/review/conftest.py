"""An archive of small conversations in four languages and two channels, and queues picked from it with the
committed tiny model (no torch)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from review_samples import write_archive

from review.pick import PickJob, PickReport, run_pick


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """40 valid conversations, one invalid record, one line that is not JSON, one duplicate id."""
    return write_archive(tmp_path / "archive.jsonl")


@pytest.fixture
def pick_into(tiny_model_dir: Path) -> Callable[..., PickReport]:
    def run(archive: Path, queue: Path, n: int = 10, **kwargs: object) -> PickReport:
        return run_pick(PickJob(inputs=(str(archive),), queue=queue, model_dir=tiny_model_dir, n=n,
                                threads=1, **kwargs))  # type: ignore[arg-type]  # fmt: skip

    return run


@pytest.fixture
def queue_file(tmp_path: Path, archive: Path, pick_into: Callable[..., PickReport]) -> Path:
    queue = tmp_path / "queue.db"
    pick_into(archive, queue, n=10)
    return queue
