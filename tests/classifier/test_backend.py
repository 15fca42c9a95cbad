"""Classifier runs any Backend: rendering, batching, span means, aggregation and calibration stay its own."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from classifier.backend import Backend, OnnxBackend
from classifier.calibration import calibrate
from classifier.inference import Classifier
from classifier.model_config import TOKENIZER_FILE, ModelConfig
from classifier.render import Window
from classifier.schema import Conversation, Turn


class ConstantBackend:
    """Every token of every window gets the logits (``bot``, ``request``); records the batch sizes."""

    def __init__(self, bot: float, request: float, *, batch: int) -> None:
        self.bot, self.request, self.batch = bot, request, batch
        self.calls: list[int] = []

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def exact_batch_size(self) -> int:
        return self.batch

    def token_logits(self, windows: Sequence[Window]) -> list[np.ndarray]:
        self.calls.append(len(windows))
        return [np.tile(np.array([[self.bot, self.request]], dtype=np.float32), (len(w), 1)) for w in windows]


def _classifier(model_dir: Path, backend: Backend) -> Classifier:
    tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    return Classifier(None, ModelConfig.load(model_dir), backend, tokenizer)


def test_a_custom_backend_goes_through_the_whole_path(tiny_model_dir: Path) -> None:
    backend = ConstantBackend(bot=1.5, request=-2.0, batch=3)
    clf = _classifier(tiny_model_dir, backend)
    assert isinstance(backend, Backend) and clf.default_batch_size == 3
    convs = [
        Conversation(id=f"c{i}", turns=[Turn(role="user", text="where is my order " * (i + 1)),
                                        Turn(role="assistant", text="it arrives tomorrow")])
        for i in range(7)
    ] + [Conversation(id="lone", turns=[Turn(role="user", text="write me a poem")])]  # fmt: skip
    preds = clf.classify(convs)
    assert max(backend.calls) <= 3 and sum(backend.calls) == len(convs)
    bot, request = calibrate(1.5, clf.config.calibration), calibrate(-2.0, clf.config.calibration)
    assert [p.score for p in preds[:-1]] == pytest.approx([bot] * 7)
    assert preds[-1].score == pytest.approx(request)  # no bot reply: the request decides
    assert [e.turn for e in preds[0].evidence] == [1]


def test_load_builds_the_onnx_backend_with_the_models_exact_batch_size(tiny_model_dir: Path) -> None:
    clf = Classifier.load(tiny_model_dir, threads=1)
    assert isinstance(clf.backend, OnnxBackend)
    assert clf.default_batch_size == 1  # the tiny model is dynamic int8: one window per call
